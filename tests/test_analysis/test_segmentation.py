"""Pixel confusion matrix and IoU against mmseg's IoUMetric on a toy set."""
import numpy as np
import pytest
import torch

from skd_det.analysis.segmentation import iou_from_confusion, seg_confusion_matrix


def test_confusion_and_iou_hand_case():
    gt = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [1, 0, 2]])
    cm = seg_confusion_matrix(pred, gt, num_classes=4)
    expected = np.zeros((4, 4), int)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 0] = 1, 1, 2, 1
    np.testing.assert_array_equal(cm, expected)
    out = iou_from_confusion(cm)
    # class 0: 1 / (2 + 2 - 1); class 1: 2 / (2 + 3 - 2); class 2: 0; class 3: absent
    np.testing.assert_allclose(out['iou'][:3], [1 / 3, 2 / 3, 0.])
    assert np.isnan(out['iou'][3])
    assert out['mIoU'] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert out['aAcc'] == pytest.approx(3 / 5)


def test_matches_mmseg_iou_metric():
    from mmseg.evaluation.metrics import IoUMetric
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, (2, 16, 16))
    gt[:, :2] = 255
    pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 5, gt.shape)) % 5
    cm = sum(seg_confusion_matrix(p, g, 5) for p, g in zip(pred, gt))
    areas = [
        IoUMetric.intersect_and_union(torch.from_numpy(p), torch.from_numpy(g), 5, 255)
        for p, g in zip(pred, gt)
    ]
    inter, union = sum(a[0] for a in areas), sum(a[1] for a in areas)
    np.testing.assert_allclose(iou_from_confusion(cm)['iou'], (inter / union).numpy())
