# Copyright (c) skd_det contributors.
"""EfficientDet-D0 detection and segmentation, and FRSKD on EfficientDet-D0, through
tools/train.py (with its test pass) and tools/model_converters/export_student.py on synthetic data
(CPU configs, a few iterations)."""
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

from skd_det.testing import NO_VAL, VOC_VAL_AS_TRAIN, train

DET_CFG = 'configs/efficientdet/efficientdet_d0_cpu_voc0712.py'
SEG_CFG = 'configs/efficientdet/efficientdet_d0_seg_cpu_voc12aug.py'
FRSKD_CFG = 'configs/frskd/frskd_efficientdet_d0_cpu_voc0712.py'
# one epoch on the val images of VOC2007 + VOC2012, batch 2
SHORT_DET = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0'
] + VOC_VAL_AS_TRAIN

# each test trains through tools/train.py
pytestmark = pytest.mark.slow


def _log(work_dir):
    """What the run's logger wrote (as on the console)."""
    (path, ) = glob(osp.join(str(work_dir), '*', '*.log'))
    with open(path) as f:
        return f.read()


def test_detection_d0_trains_and_tests(synthetic_voc, tmp_path):
    train(DET_CFG, synthetic_voc, tmp_path, SHORT_DET)
    # the test pass after the epoch: the checkpoint and VOC's mAP
    assert (tmp_path / 'epoch_1.pth').is_file()
    val_log = _log(tmp_path).split('Epoch(val)')
    assert len(val_log) > 1 and 'pascal_voc/mAP' in val_log[-1]


def test_segmentation_d0_trains_and_tests(synthetic_voc, tmp_path):
    data_root = osp.join(synthetic_voc, 'VOC2012')
    opts = [
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0'
    ]
    train(SEG_CFG, data_root, tmp_path, opts)
    assert (tmp_path / 'iter_2.pth').is_file()
    val_log = _log(tmp_path).split('Iter(val)')
    assert len(val_log) > 1 and 'mIoU' in val_log[-1]


@pytest.mark.usefixtures('one_thread')
def test_frskd_efficientdet_export_predicts_bit_for_bit(synthetic_voc, tmp_path, export_parity):
    # random-init scores are ~0.01: keep every box to compare non-empty predictions
    train(FRSKD_CFG, synthetic_voc, tmp_path,
          SHORT_DET + NO_VAL + ['model.student.test_cfg.score_thr=0.0'])
    (config, ) = glob(osp.join(str(tmp_path), 'frskd_*.py'))  # with the cfg-options
    ckpt = tmp_path / 'epoch_1.pth'
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path / 'export')

    plain = Config.fromfile(exported_cfg)
    assert plain.model.type == 'EfficientDet' and plain.model.neck.type == 'BiFPN'
    # EfficientDet is skd_det's: the student keeps the plugin, not the training-only hooks
    assert plain.custom_imports.imports == ['skd_det.det'] and 'custom_hooks' not in plain
    _, full = export_parity.student_weights(exported_ckpt, ckpt)
    assert any(k.startswith('teacher.') for k in full)

    # in this process: the export needs skd_det's EfficientDet
    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    _, ours = export_parity.model_predictions(config, ckpt, images)
    _, theirs = export_parity.model_predictions(exported_cfg, exported_ckpt, images)
    export_parity.assert_same(ours, theirs, images)
