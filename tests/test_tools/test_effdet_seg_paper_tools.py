# Copyright (c) skd_det contributors.
"""FRSKD on the paper's segmentation model (CPU config) through tools/train.py with its
validation pass, then tools/model_converters/export_student.py: the exported student predicts
exactly what the wrapper predicts."""
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

CONFIG = 'configs/frskd/frskd_effdet-seg_d0_cpu_voc12aug.py'
ENV = dict(OMP_NUM_THREADS='1')
SHORT = [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'default_hooks.logger.interval=1'
]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('one_thread')]


def test_frskd_paper_seg_trains_validates_and_exports_bit_for_bit(synthetic_voc, tmp_path, run_tool,
                                                                  export_parity):
    data_root = osp.join(synthetic_voc, 'VOC2012')
    result = run_tool([
        'tools/train.py', CONFIG, '--data-root', data_root, '--work-dir',
        str(tmp_path), '--device', 'cpu', '--cfg-options', *SHORT
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    # the teacher's and the distillation losses are trained and logged
    assert 'teacher.decode.loss_ce' in log and 'distill.loss_feat' in log
    val_log = log.split('Iter(val)')
    assert len(val_log) > 1 and 'mIoU' in val_log[-1]
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()

    (config, ) = glob(osp.join(str(tmp_path), 'frskd_*.py'))  # with the cfg-options
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path / 'export')
    plain = Config.fromfile(exported_cfg)
    assert plain.model.type == 'EncoderDecoder' and plain.model.neck.type == 'SequentialNeck'
    # the student's parts are skd_det's: it keeps the plugin, not the training-only hook
    assert plain.custom_imports.imports == ['skd_det.seg'] and 'custom_hooks' not in plain
    _, full = export_parity.student_weights(exported_ckpt, ckpt)
    assert any(k.startswith('teacher.') for k in full)

    images = sorted(glob(osp.join(data_root, 'JPEGImages', '*.jpg')))[:2]
    assert images
    for image in images:  # one at a time: mmseg batches only same-size test images
        _, ours = export_parity.model_predictions(config, ckpt, [image], 'seg')
        _, theirs = export_parity.model_predictions(exported_cfg, exported_ckpt, [image], 'seg')
        export_parity.assert_same(ours, theirs, [image], 'seg')
