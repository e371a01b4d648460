# Copyright (c) skd_det contributors.
"""LGD through the tools on synthetic VOC: a short tools/train.py run (losses and phases
logged at every iteration), tools/test.py on its checkpoint, and
tools/model_converters/export_student.py, whose output plain mmdet (without skd_det) loads and
predicts with exactly what the LGD wrapper predicts."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from glob import glob

import pytest
import torch
from mmengine.config import Config

from skd_det.engine.hooks import LGDPhaseHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py'
ENV = dict(OMP_NUM_THREADS='1')
# 2 short epochs on the val images of VOC2007 + VOC2012 (4 images), batch 2: 4 iterations, the
# first in both phases of LGDPhaseHook(1/6, 1/9) scaled to the run (iteration 0 < 4/6, 4/9);
# random-init scores are ~0.01, so keep every box to compare non-empty predictions
OPTS = [
    'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
    'train_dataloader.dataset.datasets.0.ann_file=VOC2007/ImageSets/Main/val.txt',
    'train_dataloader.dataset.datasets.1.ann_file=VOC2012/ImageSets/Main/val.txt',
    'model.student.test_cfg.score_thr=0.0', 'val_cfg=None', 'val_dataloader=None',
    'val_evaluator=None', 'default_hooks.logger.interval=1', 'log_processor.window_size=1'
]
PARITY = r'''
import sys
import torch
from mmdet.apis import inference_detector, init_detector
cfg, ckpt, out, imgs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
results = inference_detector(init_detector(cfg, ckpt, device='cpu'), imgs)
torch.save([r.to_dict() for r in results], out)
assert not [m for m in sys.modules if m.split('.')[0] == 'skd_det'], 'skd_det was imported'
'''


pytestmark = pytest.mark.usefixtures('one_thread')


def _tool(args, env=None):
    env = dict(env if env is not None else os.environ, PYTHONUNBUFFERED='1', **ENV)
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope='module')
def run(synthetic_voc, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('lgd_det')
    result = _tool(['tools/train.py', CFG, '--data-root', synthetic_voc, '--work-dir',
                    str(work_dir), '--device', 'cpu', '--cfg-options', *OPTS])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work_dir


def test_train_logs_every_loss_group_and_the_phases(run):
    (path, ) = glob(osp.join(str(run), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        records = {r['iter']: r for r in map(json.loads, f) if 'loss' in r}
    assert sorted(records) == [1, 2, 3, 4]
    hook = LGDPhaseHook(1 / 6, 1 / 9)  # the config's
    for it, record in records.items():
        phase = hook.phase_at(it - 1, 4)
        assert record['lgd_detach_distill_student'] == int(phase['detach_distill_student'])
        assert record['lgd_detach_teacher_input'] == int(phase['detach_teacher_input'])
        for key in ('loss_cls', 'teacher.loss_cls', 'distill.loss_feat'):
            assert record[key] > 0, (it, key)
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)
    assert records[1]['lgd_detach_distill_student'] == records[1]['lgd_detach_teacher_input'] == 1
    assert records[4]['lgd_detach_distill_student'] == records[4]['lgd_detach_teacher_input'] == 0


def test_test_tool_evaluates_the_checkpoint(run, synthetic_voc, tmp_path):
    out = tmp_path / 'preds.pkl'
    result = _tool(['tools/test.py', CFG, str(run / 'epoch_2.pth'), '--out', str(out),
                    '--work-dir', str(tmp_path), '--device', 'cpu', '--data-root', synthetic_voc,
                    '--cfg-options', 'test_dataloader.num_workers=0'])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]
    assert out.is_file()


def _export_tool():
    spec = importlib.util.spec_from_file_location(
        'export_student', osp.join(REPO, 'tools/model_converters/export_student.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_predicts_like_the_wrapper(run, synthetic_voc, tmp_path, monkeypatch):
    (config, ) = glob(osp.join(str(run), 'lgd_*.py'))  # the run's config, options included
    ckpt = str(run / 'epoch_2.pth')
    _export_tool().main([config, ckpt, str(tmp_path)])
    name = osp.splitext(osp.basename(config))[0] + '_student'
    exported_cfg, exported_ckpt = tmp_path / f'{name}.py', tmp_path / f'{name}.pth'
    plain = Config.fromfile(str(exported_cfg))
    assert plain.model.type == 'RetinaNet'
    assert 'custom_imports' not in plain and 'custom_hooks' not in plain
    saved = torch.load(str(exported_ckpt), map_location='cpu', weights_only=True)['state_dict']
    full = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    assert any(k.startswith('teacher.label_encoder.') for k in full)
    student = {k[len('student.'):]: v for k, v in full.items() if k.startswith('student.')}
    assert saved.keys() == student.keys()
    assert all(torch.equal(saved[k], v) for k, v in student.items())

    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    assert images
    env = {k: v for k, v in os.environ.items() if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    theirs_path = tmp_path / 'plain.pt'
    result = _tool(['-c', PARITY, str(exported_cfg), str(exported_ckpt), str(theirs_path),
                    *images], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    theirs = torch.load(str(theirs_path), weights_only=False)

    from mmdet.apis import inference_detector
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # a full training checkpoint
    load_checkpoint(model, ckpt, map_location='cpu')
    model.cfg = cfg
    model.eval()
    ours = inference_detector(model, images)
    assert len(ours) == len(theirs) == 2
    for mine, plain_result in zip(ours, theirs):
        assert len(mine.pred_instances) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(mine.pred_instances[key], plain_result['pred_instances'][key])
