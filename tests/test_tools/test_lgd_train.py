# Copyright (c) skd_det contributors.
"""LGD through the tools on synthetic VOC: a short tools/train.py run (losses and phases
logged at every iteration), tools/test.py on its checkpoint, and
tools/model_converters/export_student.py, whose output plain mmdet (without skd_det) loads and
predicts with exactly what the LGD wrapper predicts."""
import json
import os.path as osp
from glob import glob

import pytest
from mmengine.config import Config

from skd_det.engine.hooks import LGDPhaseHook
from skd_det.testing import LOG_EVERY_ITER, NO_VAL, VOC_VAL_AS_TRAIN, scalars, train
from skd_det.utils import load_checkpoint

CFG = 'configs/lgd/lgd_retinanet_r18_fpn_cpu_voc0712.py'
ENV = dict(OMP_NUM_THREADS='1')
# 2 short epochs on the val images of VOC2007 + VOC2012 (4 images), batch 2: 4 iterations, the
# first in both phases of LGDPhaseHook(1/6, 1/9) scaled to the run (iteration 0 < 4/6, 4/9);
# random-init scores are ~0.01, so keep every box to compare non-empty predictions
OPTS = [
    'train_cfg.max_epochs=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1',
    'model.student.test_cfg.score_thr=0.0'
] + VOC_VAL_AS_TRAIN + NO_VAL + LOG_EVERY_ITER

# trains through tools/train.py once for the module's tests (one xdist worker)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group('lgd_train'),
    pytest.mark.usefixtures('one_thread')
]


@pytest.fixture(scope='module')
def run(synthetic_voc, tmp_path_factory):
    return train(CFG, synthetic_voc, tmp_path_factory.mktemp('lgd_det'), OPTS)


def test_train_logs_every_loss_group_and_the_phases(run):
    records = scalars(run)
    assert sorted(records) == [1, 2, 3, 4]
    hook = LGDPhaseHook(1 / 6, 1 / 9)  # the config's
    for it, record in records.items():
        phase = hook.phase_at(it - 1, 4)
        assert record['lgd_detach_distill_student'] == int(phase['detach_distill_student'])
        assert record['lgd_freeze_backbone'] == int(phase['freeze_backbone'])
        for key in ('loss_cls', 'teacher.loss_cls', 'distill.loss_feat'):
            assert record[key] > 0, (it, key)
        parts = sum(v for k, v in record.items() if 'loss' in k and k != 'loss')
        assert record['loss'] == pytest.approx(parts, rel=1e-5)
    assert records[1]['lgd_detach_distill_student'] == records[1]['lgd_freeze_backbone'] == 1
    assert records[4]['lgd_detach_distill_student'] == records[4]['lgd_freeze_backbone'] == 0


def test_test_tool_evaluates_the_checkpoint(run, synthetic_voc, tmp_path, run_tool):
    out = tmp_path / 'preds.pkl'
    result = run_tool([
        'tools/test.py', CFG,
        str(run / 'epoch_2.pth'), '--out',
        str(out), '--work-dir',
        str(tmp_path), '--device', 'cpu', '--data-root', synthetic_voc, '--cfg-options',
        'test_dataloader.num_workers=0'
    ],
                      env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'pascal_voc/mAP' in result.stdout.split('Final metrics:')[-1]
    assert out.is_file()


def test_export_predicts_like_the_wrapper(run, synthetic_voc, tmp_path, export_parity):
    (config, ) = glob(osp.join(str(run), 'lgd_*.py'))  # the run's config, options included
    ckpt = str(run / 'epoch_2.pth')
    exported_cfg, exported_ckpt = export_parity.export(config, ckpt, tmp_path)
    plain = Config.fromfile(exported_cfg)
    assert plain.model.type == 'RetinaNet'
    assert 'custom_imports' not in plain and 'custom_hooks' not in plain
    _, full = export_parity.student_weights(exported_ckpt, ckpt)
    assert any(k.startswith('teacher.label_encoder.') for k in full)

    images = sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2]
    assert images
    (theirs, ) = export_parity.plain_predictions([('det', exported_cfg, exported_ckpt, images)],
                                                 tmp_path)
    _, ours = export_parity.model_predictions(config, ckpt, images)
    export_parity.assert_same(ours, theirs, images)


def test_ddp_with_the_frozen_backbone_phase(synthetic_voc, tmp_path):
    """Two gloo processes through tools/dist_train.sh: the first iteration has the backbone
    frozen (no gradient: find_unused_parameters=True in the config), the second trains it."""
    import os
    import random
    import subprocess
    import sys

    import torch
    work_dir = tmp_path / 'ddp'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(random.randint(20000, 40000)),
        OMP_NUM_THREADS='1')
    opts = [o for o in OPTS if not o.startswith('train_dataloader.num_workers')]
    r = subprocess.run([
        'bash', 'tools/dist_train.sh', CFG, '2', '--work-dir',
        str(work_dir), '--data-root', synthetic_voc, '--cfg-options', *opts,
        'train_dataloader.num_workers=0'
    ],
                       env=env,
                       capture_output=True,
                       text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Distributed training: True' in r.stdout + r.stderr
    (path, ) = glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        records = [r for r in map(json.loads, f) if 'loss' in r]
    # 4 images, 2 processes x batch 2: one iteration per epoch; phase fraction 1/9 of 2
    assert [r['lgd_freeze_backbone'] for r in records] == [1, 0]
    states = [load_checkpoint(str(work_dir / f'epoch_{e}.pth'))['state_dict'] for e in (1, 2)]
    key = 'student.backbone.layer1.0.conv1.weight'
    assert not torch.equal(states[0][key], states[1][key])  # trained in the second iteration
