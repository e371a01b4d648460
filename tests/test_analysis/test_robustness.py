# Copyright (c) skd_det contributors.
"""mPC / rPC against hand-computed tables, their table and plot, and the robustness tool's
corrupted test pipelines."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from skd_det.analysis.robustness import plot_robustness, robustness_summary, robustness_table

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = 'tools/analysis/test_robustness.py'

# two corruptions, one with all five severities, one with two
CLEAN = 0.80
CORRUPTED = {
    'motion_blur': {
        1: 0.70,
        2: 0.60,
        3: 0.50,
        4: 0.40,
        5: 0.30
    },
    'linear_motion_blur': {
        1: 0.80,
        3: 0.40
    }
}


def test_mpc_and_rpc_hand_computed():
    s = robustness_summary(CLEAN, CORRUPTED)
    # per corruption: mean over its severities; mPC: mean over corruptions
    assert s['corruptions']['motion_blur']['mean'] == pytest.approx(0.50)
    assert s['corruptions']['linear_motion_blur']['mean'] == pytest.approx(0.60)
    assert s['mPC'] == pytest.approx(0.55)
    assert s['rPC'] == pytest.approx(0.55 / 0.80)
    # the published Pascal-C Faster R-CNN figures: rPC = mPC / clean = 48.6 / 80.5 = 60.4%
    one = robustness_summary(80.5, {'all': {s: 48.6 for s in range(1, 6)}})
    assert round(100 * one['rPC'], 1) == 60.4
    # no clean score, or a zero one: no rPC
    assert robustness_summary(None, CORRUPTED)['rPC'] is None
    assert robustness_summary(0.0, CORRUPTED)['rPC'] is None


def test_summary_rejects_bad_tables():
    with pytest.raises(ValueError, match='no corrupted results'):
        robustness_summary(0.5, {})
    with pytest.raises(ValueError, match='motion_blur has no severities'):
        robustness_summary(0.5, {'motion_blur': {}})
    with pytest.raises(ValueError, match=r'severities \[0\] outside 1..5'):
        robustness_summary(0.5, {'motion_blur': {0: 0.5, 1: 0.4}})


def test_table_and_plot(tmp_path):
    s = robustness_summary(CLEAN, CORRUPTED)
    table = robustness_table(s, 'mAP')
    lines = table.splitlines()
    assert lines[0].split('|')[1:-1] == [
        ' corruption         ', ' clean mAP ', ' sev 1 ', ' sev 2 ', ' sev 3 ', ' sev 4 ',
        ' sev 5 ', ' mean '
    ]
    assert [c.strip() for c in lines[2].split('|')[1:-1]
            ] == ['motion_blur', '80.0', '70.0', '60.0', '50.0', '40.0', '30.0', '50.0']
    assert [c.strip() for c in lines[3].split('|')[1:-1]
            ] == ['linear_motion_blur', '80.0', '80.0', '-', '40.0', '-', '-', '60.0']
    assert lines[-1] == 'mPC = 55.0, rPC = 68.8%'
    png = plot_robustness(s, str(tmp_path / 'r.png'), 'test')
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_corrupted_config_blurs_every_test_image_after_loading(synthetic_voc, load_tool):
    from mmengine.registry import init_default_scope

    import skd_det.det  # noqa: F401
    from skd_det.utils import set_data_root
    tool = load_tool(TOOL)
    cfg = Config.fromfile(osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'))
    set_data_root(cfg, synthetic_voc)
    blurred = tool.corrupted_config(cfg, 'motion_blur', 2, seed=0)
    pipeline = blurred.test_dataloader.dataset.pipeline
    assert pipeline[0]['type'] == 'LoadImageFromFile'
    assert pipeline[1] == dict(
        type='MotionBlurCorruption', corruption='motion_blur', severity=2, seed=0)
    assert len(cfg.test_dataloader.dataset.pipeline) == len(pipeline) - 1  # a copy
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS
    clean = DATASETS.build(cfg.test_dataloader.dataset)[0]
    first, second = (DATASETS.build(blurred.test_dataloader.dataset)[0] for _ in range(2))
    assert clean['inputs'].shape == first['inputs'].shape
    assert not np.array_equal(clean['inputs'].numpy(), first['inputs'].numpy())
    # the same blurred test set every time, with the clean boxes
    np.testing.assert_array_equal(first['inputs'].numpy(), second['inputs'].numpy())
    assert (clean['data_samples'].gt_instances.bboxes.tensor ==
            first['data_samples'].gt_instances.bboxes.tensor).all()


def test_tool_rejects_bad_arguments(tmp_path, load_tool):
    tool = load_tool(TOOL)
    config = osp.join(REPO, 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py')
    for extra, message in [(['--corruptions', 'fog'], "unknown \\['fog'\\]"),
                           (['--severities', '0', '6'], r'\[6\] outside 0..5'),
                           (['--severities', '0'], 'at least one of 1..5')]:
        with pytest.raises(SystemExit, match=message):
            tool.main([config, __file__, '--out', str(tmp_path), *extra])
    with pytest.raises(SystemExit, match='does not exist'):
        tool.main([config, str(tmp_path / 'none.pth'), '--out', str(tmp_path)])


@pytest.mark.slow
def test_tool_on_a_segmentor(synthetic_cityscapes, tmp_path, run_tool):
    """mIoU per severity of a (randomly initialised) FCN: the tool's segmentation path."""
    import json

    import torch
    from mmengine.registry import init_default_scope

    import skd_det.seg  # noqa: F401
    base = osp.join(REPO, 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')
    config = tmp_path / 'fcn_miou.py'
    config.write_text(f"_base_ = '{base}'\n"
                      "test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU'])]\n")
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    ckpt = tmp_path / 'fcn.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(base).model).state_dict()}, ckpt)
    out = tmp_path / 'out'
    result = run_tool([
        'tools/analysis/test_robustness.py',
        str(config),
        str(ckpt), '--severities', '0', '3', '--out',
        str(out), '--data-root', synthetic_cityscapes, '--device', 'cpu', '--cfg-options',
        'test_dataloader.num_workers=0', 'test_dataloader.dataset.pipeline.1.scale=(256,128)'
    ],
                      env=dict(OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / 'robustness.json').read_text())
    assert report['metric'] == 'mIoU'
    blurred = report['runs']['motion_blur@3']['mIoU']
    assert report['mPC'] == pytest.approx(blurred)
    assert report['rPC'] == pytest.approx(blurred / report['clean'])
    # mIoU is in percent already: the table does not scale it
    assert f'mPC = {blurred:.1f}' in (out / 'robustness.md').read_text()
