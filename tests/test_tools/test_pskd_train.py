# Copyright (c) skd_det contributors.
"""PS-KD through the tools on synthetic data, RetinaNet and FCN: tools/train.py (alpha_t and
the replaced classification loss logged at every iteration, the snapshot in the
checkpoints), --resume of the detector repeating the uninterrupted run, tools/test.py with
the calibration metrics (ECE, AURC), and tools/model_converters/export_student.py, whose
output plain mmdet/mmseg load and predict with exactly what the wrapper predicts."""
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config

from skd_det.models.distillers.base import student_state_dict
from skd_det.testing import LOG_EVERY_ITER, NO_VAL, REPO, VOC_VAL_AS_TRAIN, scalars, train
from skd_det.utils import load_checkpoint

DET_CFG = 'configs/pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py'
SEG_CFG = 'configs/pskd/pskd_fcn_r18-d8_cpu_cityscapes.py'
ENV = dict(OMP_NUM_THREADS='1')
# 2 epochs of 2 iterations on the val images of VOC2007 + VOC2012 (batch 2, one loader worker:
# a resumed epoch draws the same augmentations); keep every box to compare non-empty predictions
DET_OPTS = [
    'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
    'model.student.test_cfg.score_thr=0.0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER
# 4 iterations over 4 training images in batches of 2: the default refresh interval is one
# pass, 2 iterations
SEG_OPTS = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'default_hooks.logger.interval=1'
] + NO_VAL

# trains through tools/train.py once for the module's tests (one xdist worker)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group('pskd_train'),
    pytest.mark.usefixtures('one_thread')
]


def _ckpt(path):
    return load_checkpoint(str(path))


@pytest.fixture(scope='module')
def runs(synthetic_voc, synthetic_cityscapes, tmp_path_factory):
    return dict(
        det=train(DET_CFG, synthetic_voc, tmp_path_factory.mktemp('pskd_det'), DET_OPTS),
        seg=train(SEG_CFG, synthetic_cityscapes, tmp_path_factory.mktemp('pskd_seg'), SEG_OPTS))


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_train_logs_alpha_and_the_soft_target_loss(task, runs):
    records = scalars(runs[task])
    assert sorted(records) == [1, 2, 3, 4]
    # two epochs (two passes) of two iterations: labels first, then alpha_T * 2 / 2
    assert [records[i]['pskd_alpha'] for i in (1, 2, 3, 4)] == pytest.approx([0, 0, .8, .8])
    replaced, soft = (('loss_cls', 'distill.loss_cls') if task == 'det' else
                      ('decode.loss_ce', 'distill.loss_ce'))
    for record in records.values():
        assert replaced not in record and record[soft] > 0
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)
    last = 'epoch_2.pth' if task == 'det' else 'iter_4.pth'
    ckpt = _ckpt(runs[task] / last)
    snapshot = ckpt['pskd_snapshot']
    assert snapshot['refreshes'] == 2
    student = student_state_dict(ckpt['state_dict'])
    # refreshed at the end of the run, before the save: the final student
    assert snapshot['state_dict'].keys() == student.keys()
    assert all(torch.equal(snapshot['state_dict'][k], v) for k, v in student.items())


def test_det_resume_continues_the_same_run(runs, synthetic_voc, tmp_path):
    resumed = train(DET_CFG, synthetic_voc, tmp_path / 'resumed', DET_OPTS,
                    ['--resume', str(runs['det'] / 'epoch_1.pth')])
    straight, again = scalars(runs['det']), scalars(resumed)
    assert sorted(again) == [3, 4]
    for it in (3, 4):
        for key, value in straight[it].items():
            if 'loss' in key or key == 'pskd_alpha':
                assert again[it][key] == pytest.approx(value, rel=1e-5), (it, key)
    ours, theirs = _ckpt(resumed / 'epoch_2.pth'), _ckpt(runs['det'] / 'epoch_2.pth')
    for mine, other in ((ours['state_dict'], theirs['state_dict']),
                        (ours['pskd_snapshot']['state_dict'],
                         theirs['pskd_snapshot']['state_dict'])):
        assert mine.keys() == other.keys()
        assert all(torch.equal(mine[k], v) for k, v in other.items())


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_test_tool_reports_calibration(task, runs, synthetic_voc, synthetic_cityscapes, tmp_path,
                                       run_tool):
    """The configs' evaluators plus skd_det's calibration metric, as the study adds them
    (tools/test.py registers the metric: no custom_imports needed)."""
    if task == 'det':
        evaluators = ("[dict(type='VOCMetric', metric='mAP', eval_mode='11points'), "
                      "dict(type='DetectionCalibrationMetric')]")
        cfg, ckpt, root, metric = DET_CFG, runs['det'] / 'epoch_2.pth', synthetic_voc, 'mAP'
        opts = []
    else:
        evaluators = ("[dict(type='IoUMetric', iou_metrics=['mIoU']), "
                      "dict(type='SegCalibrationMetric')]")
        cfg, ckpt, root, metric = SEG_CFG, runs['seg'] / 'iter_4.pth', synthetic_cityscapes, 'mIoU'
        opts = ['test_dataloader.dataset.pipeline.1.scale=(256,128)']
    config = tmp_path / f'pskd_{task}_calibration.py'
    config.write_text(f"_base_ = '{osp.join(REPO, cfg)}'\ntest_evaluator = {evaluators}\n")
    result = run_tool([
        'tools/test.py',
        str(config),
        str(ckpt), '--work-dir',
        str(tmp_path), '--device', 'cpu', '--data-root', root, '--cfg-options',
        'test_dataloader.num_workers=0', *opts
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    final = result.stdout.split('Final metrics:')[-1]
    for key in (metric, 'calibration/ECE', 'calibration/AURC'):
        assert key in final, key


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_export_predicts_like_the_wrapper(task, runs, synthetic_voc, synthetic_cityscapes, tmp_path,
                                          export_parity):
    work_dir = runs[task]
    (config, ) = glob(osp.join(str(work_dir), 'pskd_*.py'))  # the run's own config
    if task == 'det':
        ckpt = str(work_dir / 'epoch_2.pth')
        images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    else:
        ckpt = str(work_dir / 'iter_4.pth')
        images = sorted(glob(osp.join(synthetic_cityscapes, 'leftImg8bit', 'val', '*',
                                      '*.png')))[:2]
    assert images
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path)
    plain = Config.fromfile(exported_cfg)
    assert plain.model.type == ('RetinaNet' if task == 'det' else 'EncoderDecoder')
    assert 'custom_imports' not in plain and 'custom_hooks' not in plain
    export_parity.student_weights(exported_ckpt, ckpt)
    (theirs, ) = export_parity.plain_predictions([(task, exported_cfg, exported_ckpt, images)],
                                                 tmp_path)
    _, ours = export_parity.model_predictions(config, ckpt, images, task)
    export_parity.assert_same(ours, theirs, images, task)
