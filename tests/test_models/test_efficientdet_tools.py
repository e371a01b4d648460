# Copyright (c) skd_det contributors.
"""EfficientDet-D0 detection and segmentation, and FRSKD on EfficientDet-D0, through
tools/train.py (with its test pass) and tools/model_converters/export_student.py on synthetic data
(CPU configs, a few iterations)."""
import importlib.util
import os.path as osp
from glob import glob

import torch
from mmengine.config import Config

from conftest import REPO

DET_CFG = 'configs/efficientdet/efficientdet_d0_cpu_voc0712.py'
SEG_CFG = 'configs/efficientdet/efficientdet_d0_seg_cpu_voc12aug.py'
FRSKD_CFG = 'configs/frskd/frskd_efficientdet_d0_cpu_voc0712.py'
ENV = dict(OMP_NUM_THREADS='1')
# one epoch on the val images of VOC2007 + VOC2012, batch 2
SHORT_DET = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.dataset.datasets.0.ann_file=VOC2007/ImageSets/Main/val.txt',
    'train_dataloader.dataset.datasets.1.ann_file=VOC2012/ImageSets/Main/val.txt'
]


def _train(run_tool, config, data_root, work_dir, opts):
    result = run_tool(['tools/train.py', config, '--data-root', data_root, '--work-dir',
                       str(work_dir), '--device', 'cpu', '--cfg-options', *opts], env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_detection_d0_trains_and_tests(synthetic_voc, tmp_path, run_tool):
    run = _train(run_tool, DET_CFG, synthetic_voc, tmp_path, SHORT_DET)
    # the test pass after the epoch: the checkpoint and VOC's mAP
    assert (tmp_path / 'epoch_1.pth').is_file()
    val_log = (run.stdout + run.stderr).split('Epoch(val)')
    assert len(val_log) > 1 and 'pascal_voc/mAP' in val_log[-1]


def test_segmentation_d0_trains_and_tests(synthetic_voc, tmp_path, run_tool):
    data_root = osp.join(synthetic_voc, 'VOC2012')
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0']
    run = _train(run_tool, SEG_CFG, data_root, tmp_path, opts)
    assert (tmp_path / 'iter_2.pth').is_file()
    val_log = (run.stdout + run.stderr).split('Iter(val)')
    assert len(val_log) > 1 and 'mIoU' in val_log[-1]


def _export_tool():
    spec = importlib.util.spec_from_file_location(
        'export_student', osp.join(REPO, 'tools/model_converters/export_student.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _predict(config, checkpoint, images):
    from mmdet.apis import inference_detector
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(checkpoint), map_location='cpu')
    model.cfg = cfg
    model.eval()
    return inference_detector(model, images)


def test_frskd_efficientdet_export_predicts_bit_for_bit(synthetic_voc, tmp_path, run_tool,
                                                         monkeypatch):
    torch.set_num_threads(1)
    # random-init scores are ~0.01: keep every box to compare non-empty predictions
    _train(run_tool, FRSKD_CFG, synthetic_voc, tmp_path,
           SHORT_DET + ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
                        'model.student.test_cfg.score_thr=0.0'])
    (config, ) = glob(osp.join(str(tmp_path), 'frskd_*.py'))  # with the cfg-options
    ckpt = tmp_path / 'epoch_1.pth'
    _export_tool().main([config, str(ckpt), str(tmp_path / 'export')])
    name = osp.splitext(osp.basename(config))[0] + '_student'
    exported_cfg = tmp_path / 'export' / f'{name}.py'
    exported_ckpt = tmp_path / 'export' / f'{name}.pth'

    plain = Config.fromfile(str(exported_cfg))
    assert plain.model.type == 'EfficientDet' and plain.model.neck.type == 'BiFPN'
    # EfficientDet is skd_det's: the student keeps the plugin, not the training-only hooks
    assert plain.custom_imports.imports == ['skd_det.det'] and 'custom_hooks' not in plain
    saved = torch.load(exported_ckpt, map_location='cpu', weights_only=True)['state_dict']
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # a full training checkpoint
    full = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    student = {k[len('student.'):]: v for k, v in full.items() if k.startswith('student.')}
    assert any(k.startswith('teacher.') for k in full)
    assert saved.keys() == student.keys()
    assert all(torch.equal(saved[k], v) for k, v in student.items())

    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    ours = _predict(config, ckpt, images)
    theirs = _predict(str(exported_cfg), exported_ckpt, images)
    for mine, exported in zip(ours, theirs):
        assert len(mine.pred_instances) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(mine.pred_instances[key], exported.pred_instances[key])
