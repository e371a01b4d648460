# Copyright (c) skd_det contributors.
"""Every method on the mobile students of issue 26: FRSKD, LGD, BYOT, PS-KD and blur S-KD on
RetinaNet MobileNetV2-FPN, FRSKD on EfficientDet-Lite0 and on FCN MobileNetV2-D8. Each CPU
config builds (random weights: no ImageNet file needed), trains a step in which the student, the
teacher part and the distillation losses all get gradients, and its exported student predicts
bit for bit what the wrapper predicts: in plain mmdet/mmseg (a fresh process that never imports
skd_det), or in this process for the students that use skd_det's modules themselves
(EfficientDet-Lite0; blur S-KD's deblurring subnet, kept at inference)."""
import copy
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config

from skd_det.testing import REPO, build_model, det_batch, seg_batch

BOTH = ('teacher.', 'distill.')
# name: (config, task, loss groups that must appear besides the student's)
METHODS = {
    'frskd': ('frskd/frskd_retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'det', BOTH),
    'lgd': ('lgd/lgd_retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'det', BOTH),
    'byot': ('byot/byot_retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'det', BOTH),
    # PS-KD's loss replaces the student's loss_cls (no teacher loss of its own)
    'pskd': ('pskd/pskd_retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'det', ()),
    'blur_skd': ('blur_skd/blur_skd_retinanet_mobilenetv2_fpn_cpu_voc0712.py', 'det', BOTH),
    'frskd_lite0': ('frskd/frskd_efficientdet_lite0_cpu_voc0712.py', 'det', BOTH),
    'frskd_fcn_mv2': ('frskd/frskd_fcn_m-v2-d8_cpu_cityscapes.py', 'seg', BOTH),
}
# students with skd_det modules: their exports import skd_det
NEEDS_SKD_DET = ('blur_skd', 'frskd_lite0')
# the whole module is one fixture's work (one xdist worker); ~1 min on one core
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group('mobile_students'),
    pytest.mark.usefixtures('one_thread')
]


def _train_step(cfg, task):
    """The wrapper initialised as the Runner does, but with a random backbone instead of the
    ImageNet file, and one SGD step on a small batch: (model, log of the losses, the student's
    weights before the step)."""
    import importlib
    for name in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(name)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.student.backbone.init_cfg = None
    model = build_model(model_cfg, 'mmdet' if task == 'det' else 'mmseg', seed=0, init=True)
    model.train()
    if task == 'det':
        inputs, samples = det_batch(model, image_shapes=((3, 128, 128), (3, 128, 128)))
    else:
        inputs, samples = seg_batch(model, shape=(64, 128))
    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    optim = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss, log = model.parse_losses(model(inputs, samples, mode='loss'))
    assert torch.isfinite(loss), log
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 10)  # the CPU configs' clip
    optim.step()
    return model, log, before


@pytest.fixture(scope='module')
def exports(tmp_path_factory, synthetic_voc, synthetic_cityscapes, export_parity):
    """name -> (training log, student weights changed, wrapper predictions, export's)."""
    root = tmp_path_factory.mktemp('mobile_students')
    images = dict(
        det=sorted(glob(osp.join(synthetic_voc, 'VOC2007', 'JPEGImages', '*.jpg')))[:2],
        seg=sorted(glob(osp.join(synthetic_cityscapes, 'leftImg8bit', 'val', '*', '*.png')))[:2])
    results, plain_jobs = {}, []
    for name, (config, task, _) in METHODS.items():
        work = root / name
        work.mkdir()
        # random-init scores are ~0.01: keep every box, so that predictions are compared
        cfg_path = work / f'{name}.py'
        cfg_path.write_text(f"_base_ = '{osp.join(REPO, 'configs', config)}'\n" + (
            'model = dict(student=dict(test_cfg=dict(score_thr=0.0)))\n' if task == 'det' else ''))
        cfg = Config.fromfile(str(cfg_path))
        model, log, before = _train_step(cfg, task)
        after = model.student.state_dict()
        changed = any(not torch.equal(after[k], v) for k, v in before.items())
        ckpt = work / 'step_1.pth'
        torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), ckpt)
        exported_cfg, exported_ckpt = export_parity.export(cfg_path, ckpt, work / 'export')
        export_parity.student_weights(exported_ckpt, ckpt)
        _, ours = export_parity.model_predictions(cfg_path, ckpt, images[task], task)
        if name in NEEDS_SKD_DET:
            _, theirs = export_parity.model_predictions(exported_cfg, exported_ckpt, images[task],
                                                        task)
        else:
            theirs = None
            plain_jobs.append((name, (task, exported_cfg, exported_ckpt, images[task])))
        results[name] = [log, changed, ours, theirs, images[task]]
    plain = export_parity.plain_predictions([job for _, job in plain_jobs], root)
    for (name, _), theirs in zip(plain_jobs, plain):
        results[name][3] = theirs
    return results


@pytest.mark.parametrize('name', list(METHODS))
def test_method_trains_a_step_and_exports_bit_for_bit(name, exports, export_parity):
    config, task, groups = METHODS[name]
    log, changed, ours, theirs, images = exports[name]
    assert changed, 'the step left the student unchanged'
    student = [k for k in log if k.startswith('loss') or k.startswith('decode.')]
    assert student, log
    for group in groups:
        assert any(k.startswith(group) for k in log), (group, sorted(log))
    export_parity.assert_same(ours, theirs, images, task)
