# Copyright (c) skd_det contributors.
"""FRSKD through the tools on synthetic data: tools/train.py, --resume,
tools/test.py, and tools/model_converters/export_student.py, whose output plain
mmdet/mmseg (without skd_det) load and predict with exactly what the wrapper
predicts."""
import json
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

from skd_det.engine.hooks import DistillWarmupHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET_CFG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
SEG_CFG = 'configs/frskd/frskd_fcn_r18-d8_cpu_cityscapes.py'
EXPORT_TOOL = 'tools/model_converters/export_student.py'
# two OpenMP threads on a shared 2-core machine can be 50x slower than one
ENV = dict(OMP_NUM_THREADS='1')
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
LOG_EVERY_ITER = ['default_hooks.logger.interval=1', 'log_processor.window_size=1']
# 2 short epochs on the val images of VOC2007 + VOC2012, batch 2 (one loader worker: a resumed
# epoch draws the same augmentations); random-init scores are ~0.01, so keep every box to
# compare non-empty predictions
DET_OPTS = [
    'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
    'train_dataloader.dataset.datasets.0.ann_file=VOC2007/ImageSets/Main/val.txt',
    'train_dataloader.dataset.datasets.1.ann_file=VOC2012/ImageSets/Main/val.txt',
    'model.student.test_cfg.score_thr=0.0'
] + NO_VAL + LOG_EVERY_ITER
SEG_OPTS = [
    'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0'
] + NO_VAL

pytestmark = pytest.mark.usefixtures('one_thread')


def _train(run_tool, config, data_root, work_dir, opts, extra=()):
    result = run_tool([
        'tools/train.py', config, '--data-root', data_root, '--work-dir',
        str(work_dir), '--device', 'cpu', *extra, '--cfg-options', *opts
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work_dir


def _scalars(work_dir):
    """Per-iteration training logs (iteration -> record) the LoggerHook wrote."""
    (path, ) = glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return {r['iter']: r for r in map(json.loads, f) if 'loss' in r}


@pytest.fixture(scope='module')
def det_run(synthetic_voc, tmp_path_factory, run_tool):
    return _train(run_tool, DET_CFG, synthetic_voc, tmp_path_factory.mktemp('frskd_det'), DET_OPTS)


@pytest.fixture(scope='module')
def seg_run(synthetic_cityscapes, tmp_path_factory, run_tool):
    return _train(run_tool, SEG_CFG, synthetic_cityscapes, tmp_path_factory.mktemp('frskd_seg'),
                  SEG_OPTS)


def test_det_train_logs_every_loss_group(det_run):
    scalars = _scalars(det_run)
    assert sorted(scalars) == list(range(1, len(scalars) + 1)) and len(scalars) >= 4
    assert {r['epoch'] for r in scalars.values()} == {1, 2}
    hook = DistillWarmupHook()  # the config's schedule, logged by the hook at every iteration
    for it, record in scalars.items():
        assert record['distill_weight_scale'] == pytest.approx(hook.scale_at(it - 1, len(scalars)))
        for key in ('loss_cls', 'loss_bbox', 'teacher.loss_cls', 'teacher.loss_bbox'):
            assert record[key] > 0, key
        for key in ('distill.loss_feat', 'distill.loss_kd'):
            assert (record[key] > 0) == (record['distill_weight_scale'] > 0), (it, key)
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)
    assert scalars[len(scalars)]['distill_weight_scale'] > 0  # distillation reached


def test_det_resume_continues_the_same_loss_curve(det_run, synthetic_voc, tmp_path, run_tool):
    resumed = _train(run_tool, DET_CFG, synthetic_voc, tmp_path / 'resumed', DET_OPTS,
                     ['--resume', str(det_run / 'epoch_1.pth')])
    straight, again = _scalars(det_run), _scalars(resumed)
    epoch_2 = sorted(it for it, r in straight.items() if r['epoch'] == 2)
    assert sorted(again) == epoch_2
    for it in epoch_2:  # every loss of every group and the schedule, iteration by iteration
        for key, value in straight[it].items():
            if 'loss' in key or key == 'distill_weight_scale':
                assert again[it][key] == pytest.approx(value, rel=1e-5), (it, key)


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_test_tool_evaluates_the_checkpoint(task, det_run, seg_run, synthetic_voc,
                                            synthetic_cityscapes, tmp_path, run_tool):
    if task == 'det':
        args = [DET_CFG, str(det_run / 'epoch_2.pth'), '--data-root', synthetic_voc]
        metric, opts = 'pascal_voc/mAP', []
    else:
        # mmseg's mIoU only: cityscapesscripts' evaluation belongs to the baseline's tool test
        config = tmp_path / 'frskd_seg_miou.py'
        config.write_text(f"_base_ = '{osp.join(REPO, SEG_CFG)}'\n"
                          "test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU'])]\n")
        args = [str(config), str(seg_run / 'iter_2.pth'), '--data-root', synthetic_cityscapes]
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


@pytest.fixture(scope='module')
def exported(det_run, seg_run, synthetic_voc, synthetic_cityscapes, tmp_path_factory,
             export_parity):
    """Both training runs exported, and what plain mmdet/mmseg predict with the exports (one
    fresh process that never imports skd_det)."""
    out = tmp_path_factory.mktemp('export')
    runs = dict(
        det=(det_run, det_run / 'epoch_2.pth',
             sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]),
        seg=(seg_run, seg_run / 'iter_2.pth',
             sorted(glob(osp.join(synthetic_cityscapes, 'leftImg8bit', 'val', '*', '*.png')))[:2]))
    exports = {}
    for task, (work_dir, ckpt, images) in runs.items():
        assert images
        # the training run's own config: the cfg-options (score_thr, data root) are in it
        (config, ) = glob(osp.join(str(work_dir), 'frskd_*.py'))
        exported_cfg, exported_ckpt = export_parity.export(config, ckpt, out / task)
        exports[task] = dict(
            config=config,
            ckpt=str(ckpt),
            images=images,
            exported_cfg=exported_cfg,
            exported_ckpt=exported_ckpt)
    plain = export_parity.plain_predictions(
        [(task, e['exported_cfg'], e['exported_ckpt'], e['images']) for task, e in exports.items()],
        out)
    for e, results in zip(exports.values(), plain):
        e['plain_results'] = results
    return exports


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_export_loads_in_plain_openmmlab_with_the_same_predictions(task, exported, export_parity):
    run = exported[task]
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
