# Copyright (c) skd_det contributors.
"""tools/misc/test_exported.py (make demo's last step) on a tiny exported FRSKD RetinaNet: in a
process that never imports skd_det it reports exactly the mAP tools/test.py reports for the
wrapper's checkpoint, and it refuses an export whose config needs skd_det."""
import json
import re

import pytest
import torch

from skd_det.testing import build_det, export_student, get_config

CONFIG = 'configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py'
# two OpenMP threads on a shared 2-core machine can be 50x slower than one
ONE_THREAD = dict(OMP_NUM_THREADS='1')

# two tool runs in fresh processes; the module's export is built once (one xdist worker)
pytestmark = [
    pytest.mark.usefixtures('one_thread'), pytest.mark.slow,
    pytest.mark.xdist_group('exported_eval')
]


@pytest.fixture(scope='module')
def exported(synthetic_voc, tmp_path_factory):
    """A randomly initialised wrapper's checkpoint and its export; the config points at the
    synthetic VOC and keeps every box, matched at IoU 0.1, so that the mAP is not 0."""
    out = tmp_path_factory.mktemp('exported_eval')
    cfg = get_config(CONFIG)
    cfg.test_dataloader.dataset.data_root = synthetic_voc + '/'
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.model.student.test_cfg.score_thr = 0.0
    cfg.test_evaluator.iou_thrs = [0.1]
    config = out / 'frskd_tiny.py'
    cfg.dump(str(config))
    model = build_det(cfg.model, seed=0, init=True)
    checkpoint = out / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), str(checkpoint))
    exported_cfg, exported_ckpt = export_student(config, checkpoint, out / 'student')
    return dict(
        config=config,
        checkpoint=checkpoint,
        exported_cfg=exported_cfg,
        exported_ckpt=exported_ckpt,
        out=out)


def _map(stdout):
    return float(re.findall(r'pascal_voc/mAP: ([0-9.]+)', stdout)[-1])


def test_plain_evaluation_reports_the_wrappers_map(exported, run_tool):
    out = exported['out']
    export = [exported['exported_cfg'], exported['exported_ckpt']]
    # a fresh interpreter: the tool checks that skd_det is never imported
    plain = run_tool(['tools/misc/test_exported.py', *export, '--work-dir',
                      str(out / 'plain')],
                     env=ONE_THREAD,
                     fresh=True)
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    assert 'skd_det not imported' in plain.stdout
    wrapper = [str(exported['config']), str(exported['checkpoint'])]
    ours = run_tool(['tools/test.py', *wrapper, '--work-dir', str(out / 'wrapper')], env=ONE_THREAD)
    assert ours.returncode == 0, ours.stdout[-3000:] + ours.stderr[-3000:]
    assert _map(plain.stdout) == _map(ours.stdout) > 0


def test_refuses_an_export_that_needs_skd_det(exported, run_tool, tmp_path):
    config = tmp_path / 'needs_skd_det.py'
    config.write_text(
        f"_base_ = {json.dumps(exported['exported_cfg'])}\n"
        "custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)\n")
    args = ['tools/misc/test_exported.py', str(config), exported['exported_ckpt']]
    result = run_tool(args, env=ONE_THREAD, fresh=True)
    assert result.returncode != 0
    assert "custom_imports=['skd_det.det'] needs skd_det" in result.stderr
