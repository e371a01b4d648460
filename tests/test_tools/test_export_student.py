# Copyright (c) skd_det contributors.
"""FRSKD through the tools on synthetic data: tools/train.py, --resume,
tools/test.py, and tools/model_converters/export_student.py, whose output plain
mmdet/mmseg (without skd_det) load and predict with exactly what the wrapper
predicts."""
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

from skd_det.engine.hooks import DistillWarmupHook
from skd_det.testing import LOG_EVERY_ITER, NO_VAL, REPO, VOC_VAL_AS_TRAIN, scalars, train

DET_CFG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
SEG_CFG = 'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py'
EXPORT_TOOL = 'tools/model_converters/export_student.py'
# two OpenMP threads on a shared 2-core machine can be 50x slower than one
ENV = dict(OMP_NUM_THREADS='1')
# 2 short epochs on the val images of VOC2007 + VOC2012, batch 2 (one loader worker: a resumed
# epoch draws the same augmentations); random-init scores are ~0.01, so keep every box to
# compare non-empty predictions
DET_OPTS = [
    'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
    'model.student.test_cfg.score_thr=0.0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER
SEG_OPTS = [
    'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0'
] + NO_VAL

# the module's two training runs serve all its tests (one xdist worker)
pytestmark = [pytest.mark.xdist_group('export_student'), pytest.mark.usefixtures('one_thread')]


@pytest.fixture(scope='module')
def det_run(synthetic_voc, tmp_path_factory):
    return train(DET_CFG, synthetic_voc, tmp_path_factory.mktemp('frskd_det'), DET_OPTS)


@pytest.fixture(scope='module')
def seg_run(synthetic_cityscapes, tmp_path_factory):
    return train(SEG_CFG, synthetic_cityscapes, tmp_path_factory.mktemp('frskd_seg'), SEG_OPTS)


@pytest.mark.slow
def test_det_train_logs_every_loss_group(det_run):
    records = scalars(det_run)
    assert sorted(records) == list(range(1, len(records) + 1)) and len(records) >= 4
    assert {r['epoch'] for r in records.values()} == {1, 2}
    hook = DistillWarmupHook()  # the config's schedule, logged by the hook at every iteration
    for it, record in records.items():
        assert record['distill_weight_scale'] == pytest.approx(hook.scale_at(it - 1, len(records)))
        for key in ('loss_cls', 'loss_bbox', 'teacher.loss_cls', 'teacher.loss_bbox'):
            assert record[key] > 0, key
        for key in ('distill.loss_feat', 'distill.loss_kd'):
            assert (record[key] > 0) == (record['distill_weight_scale'] > 0), (it, key)
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)
    assert records[len(records)]['distill_weight_scale'] > 0  # distillation reached


@pytest.mark.slow
def test_det_resume_continues_the_same_loss_curve(det_run, synthetic_voc, tmp_path):
    resumed = train(DET_CFG, synthetic_voc, tmp_path / 'resumed', DET_OPTS,
                    ['--resume', str(det_run / 'epoch_1.pth')])
    straight, again = scalars(det_run), scalars(resumed)
    epoch_2 = sorted(it for it, r in straight.items() if r['epoch'] == 2)
    assert sorted(again) == epoch_2
    for it in epoch_2:  # every loss of every group and the schedule, iteration by iteration
        for key, value in straight[it].items():
            if 'loss' in key or key == 'distill_weight_scale':
                assert again[it][key] == pytest.approx(value, rel=1e-5), (it, key)


@pytest.mark.slow
@pytest.mark.parametrize('task', ['det', 'seg'])
def test_test_tool_evaluates_the_checkpoint(task, request, synthetic_voc, synthetic_cityscapes,
                                            tmp_path, run_tool):
    work_dir = request.getfixturevalue(f'{task}_run')  # only the run this case needs
    if task == 'det':
        args = [DET_CFG, str(work_dir / 'epoch_2.pth'), '--data-root', synthetic_voc]
        metric, opts = 'pascal_voc/mAP', []
    else:
        # mmseg's mIoU only: cityscapesscripts' evaluation belongs to the baseline's tool test
        config = tmp_path / 'frskd_seg_miou.py'
        config.write_text(f"_base_ = '{osp.join(REPO, SEG_CFG)}'\n"
                          "test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU'])]\n")
        args = [str(config), str(work_dir / 'iter_2.pth'), '--data-root', synthetic_cityscapes]
        metric, opts = 'mIoU', ['test_dataloader.dataset.pipeline.1.scale=(256,128)']
    out = tmp_path / 'preds.pkl'
    result = run_tool([
        'tools/test.py', *args[:2], '--out',
        str(out), '--work-dir',
        str(tmp_path), '--device', 'cpu', *args[2:], '--cfg-options',
        'test_dataloader.num_workers=0', *opts
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert metric in result.stdout.split('Final metrics:')[-1]
    assert out.is_file()


# trains through the tools: `make test` only (the exports' parity in-process stays in
# test-fast, tests/test_models)
@pytest.fixture(
    scope='module', params=[pytest.param(t, marks=pytest.mark.slow) for t in ('det', 'seg')])
def exported(request, synthetic_voc, synthetic_cityscapes, tmp_path_factory, export_parity):
    """A training run exported, and what plain mmdet/mmseg predict with the export (a fresh
    process that never imports skd_det)."""
    task = request.param
    work_dir = request.getfixturevalue(f'{task}_run')
    out = tmp_path_factory.mktemp('export')
    if task == 'det':
        ckpt = work_dir / 'epoch_2.pth'
        images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    else:
        ckpt = work_dir / 'iter_2.pth'
        images = sorted(glob(osp.join(synthetic_cityscapes, 'leftImg8bit', 'val', '*',
                                      '*.png')))[:2]
    assert images
    # the training run's own config: the cfg-options (score_thr, data root) are in it
    (config, ) = glob(osp.join(str(work_dir), 'frskd_*.py'))
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, out)
    (plain, ) = export_parity.plain_predictions([(task, exported_cfg, exported_ckpt, images)], out)
    return dict(
        task=task,
        config=config,
        ckpt=str(ckpt),
        images=images,
        exported_cfg=exported_cfg,
        exported_ckpt=exported_ckpt,
        plain_results=plain)


def test_export_loads_in_plain_openmmlab_with_the_same_predictions(exported, export_parity):
    run, task = exported, exported['task']
    plain = Config.fromfile(run['exported_cfg'])
    assert plain.model.type == ('RetinaNet' if task == 'det' else 'EncoderDecoder')
    assert 'custom_imports' not in plain and 'custom_hooks' not in plain
    saved, _ = export_parity.student_weights(run['exported_ckpt'], run['ckpt'])
    assert set(saved['meta']) == {'source', 'dataset_meta'}
    _, ours = export_parity.model_predictions(run['config'], run['ckpt'], run['images'], task)
    export_parity.assert_same(ours, run['plain_results'], run['images'], task)


def test_export_rejects_a_plain_model(tmp_path, load_tool):
    with pytest.raises(SystemExit, match="model.type is 'RetinaNet'"):
        load_tool(EXPORT_TOOL).main([
            osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'), __file__,
            str(tmp_path)
        ])


def test_export_keeps_custom_imports_only_for_a_student_that_needs_them(load_tool):
    tool = load_tool(EXPORT_TOOL)
    cfg = Config.fromfile(osp.join(REPO, DET_CFG))
    plain = tool.student_config(cfg)
    assert 'custom_imports' not in plain and 'custom_hooks' not in plain
    assert plain.model.to_dict() == cfg.model.student.to_dict()
    # an EfficientDet-like student whose neck is skd_det's BiFPN still needs the plugin
    cfg.model.student.neck = dict(
        type='BiFPN', in_channels=[128, 256, 512], out_channels=64, num_outs=5)
    needs = tool.student_config(cfg)
    assert needs.custom_imports.imports == ['skd_det.det'] and needs.model.neck.type == 'BiFPN'
    assert 'custom_hooks' not in needs
