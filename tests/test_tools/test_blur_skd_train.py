# Copyright (c) skd_det contributors.
"""Blur-robust S-KD through the tools on synthetic VOC: a short tools/train.py run, tools/test.py,
tools/analysis/test_robustness.py, and an export that keeps the deblurring subnet and predicts
exactly what the wrapper predicts."""
import json
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config

from skd_det.testing import LOG_EVERY_ITER, NO_VAL, VOC_VAL_AS_TRAIN, scalars, train

CFG = 'configs/blur_skd/blur_skd_retinanet_r18_fpn_cpu_voc0712.py'
ENV = dict(OMP_NUM_THREADS='1')
# one epoch on the val images of VOC2007 + VOC2012, batch 2; random-init scores are ~0.01, so
# keep every box to compare non-empty predictions
OPTS = [
    'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'model.student.test_cfg.score_thr=0.0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER

# trains through tools/train.py once for the module's tests (one xdist worker)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('blur_skd_train')]


def _tool(run_tool, args):
    result = run_tool(args, env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope='module')
def run(synthetic_voc, tmp_path_factory):
    return train(CFG, synthetic_voc, tmp_path_factory.mktemp('blur_skd'), OPTS)


def test_train_logs_both_views_and_distillation(run):
    records = scalars(run)
    assert len(records) == 2
    for r in records.values():
        for key in ('loss_cls', 'loss_bbox', 'teacher.loss_cls', 'teacher.loss_bbox',
                    'distill.loss_feat'):
            assert r[key] > 0, key
        assert 'distill.loss_kd' not in r  # soft labels are off by default
        assert r['loss'] == pytest.approx(
            sum(v for k, v in r.items() if 'loss' in k and k != 'loss'), rel=1e-5)


def test_test_and_robustness_tools(run, synthetic_voc, tmp_path, run_tool):
    ckpt = str(run / 'epoch_1.pth')
    result = _tool(run_tool, [
        'tools/test.py', CFG, ckpt, '--data-root', synthetic_voc, '--work-dir',
        str(tmp_path / 'test'), '--device', 'cpu', '--cfg-options', 'test_dataloader.num_workers=0'
    ])
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]
    out = tmp_path / 'robustness'
    _tool(run_tool, [
        'tools/analysis/test_robustness.py', CFG, ckpt, '--corruptions', 'motion_blur',
        'linear_motion_blur', '--severities', '0', '1', '5', '--out',
        str(out), '--data-root', synthetic_voc, '--device', 'cpu', '--cfg-options',
        'test_dataloader.num_workers=0'
    ])
    with open(out / 'robustness.json') as f:
        report = json.load(f)
    assert report['metric'] == 'pascal_voc/mAP'
    assert set(report['runs']) == {
        'clean', 'motion_blur@1', 'motion_blur@5', 'linear_motion_blur@1', 'linear_motion_blur@5'
    }
    for name in ('motion_blur', 'linear_motion_blur'):
        scores = report['corruptions'][name]['severities']
        assert scores == {s: report['runs'][f'{name}@{s}']['pascal_voc/mAP'] for s in ('1', '5')}
    assert report['mPC'] == pytest.approx(
        sum(v for c in report['corruptions'].values() for v in c['severities'].values()) / 4)
    assert report['clean'] == report['runs']['clean']['pascal_voc/mAP']
    assert 'mPC =' in (out / 'robustness.md').read_text()
    assert (out / 'robustness.png').read_bytes()[:4] == b'\x89PNG'


def test_export_keeps_the_deblur_neck_and_predicts_identically(run, synthetic_voc, tmp_path,
                                                               run_tool, export_parity):
    from mmdet.apis import inference_detector, init_detector
    (config, ) = glob(osp.join(str(run), 'blur_skd_*.py'))
    ckpt = str(run / 'epoch_1.pth')
    _tool(run_tool, ['tools/model_converters/export_student.py', config, ckpt, str(tmp_path)])
    exported_cfg, exported_ckpt = export_parity.exported_paths(config, tmp_path)
    exported = Config.fromfile(exported_cfg)
    assert exported.model.type == 'RetinaNet'
    assert [n['type'] for n in exported.model.neck] == ['FPN', 'DeblurNeck']
    assert exported.custom_imports.imports == ['skd_det.det']  # DeblurNeck is skd_det's
    assert 'batch_augments' not in exported.model.data_preprocessor  # training-only
    weights = torch.load(exported_ckpt, map_location='cpu', weights_only=True)
    assert any(k.startswith('neck.1.blocks.') for k in weights['state_dict'])

    # in this process: the export needs skd_det's DeblurNeck
    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    plain = inference_detector(init_detector(exported_cfg, exported_ckpt, device='cpu'), images)
    wrapper, ours = export_parity.model_predictions(config, ckpt, images)
    export_parity.assert_same(ours, plain, images)
    # the deblur subnet was trained away from the identity it starts as
    student = wrapper.student
    assert any(b.conv2.weight.abs().sum() > 0 for b in student.neck[1].blocks)
