# Copyright (c) skd_det contributors.
"""Pixel confusion matrix of semantic segmentation and the IoU figures derived from it."""
from typing import Dict

import numpy as np
import torch


def seg_confusion_matrix(pred, gt, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """(num_classes, num_classes) pixel counts, row = ground truth, column = prediction;
    pixels labelled ``ignore_index`` (or outside ``[0, num_classes)``) are left out."""
    pred = np.asarray(pred).ravel().astype(np.int64)
    gt = np.asarray(gt).ravel().astype(np.int64)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction has {pred.size} pixels, ground truth {gt.size}')
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    return np.bincount(
        gt[valid] * num_classes + pred[valid],
        minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_from_confusion(cm: np.ndarray) -> Dict[str, object]:
    """Per-class IoU and accuracy by mmseg's ``IoUMetric.total_area_to_metrics`` on the
    matrix's areas (NaN for a class with no ground truth and no prediction; the means skip
    NaN, as IoUMetric's), plus mIoU, mAcc and aAcc.

    The matrix itself is not mmseg's ``intersect_and_union``: that gives the per-class areas
    only, and the confusion-matrix figure needs every cell."""
    # imported here: skd_det.analysis also serves installs without mmseg (detection)
    from mmseg.evaluation.metrics import IoUMetric
    cm = torch.from_numpy(np.asarray(cm, dtype=np.float64))
    inter, gt_area, pred_area = cm.diagonal(), cm.sum(1), cm.sum(0)
    metrics = IoUMetric.total_area_to_metrics(inter, gt_area + pred_area - inter, pred_area,
                                              gt_area, ['mIoU'])
    return dict(
        iou=metrics['IoU'],
        acc=metrics['Acc'],
        mIoU=_nanmean(metrics['IoU']),
        mAcc=_nanmean(metrics['Acc']),
        aAcc=float(metrics['aAcc']))


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float('nan')


def pixel_confidence(seg_logits: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """Probability the model gives its predicted label at each pixel.

    Args:
        seg_logits (Tensor): (C, H, W) logits as mmseg's ``postprocess_result`` stores them.
        pred (Tensor): (H, W) predicted labels. With C > 1 they are the argmax, so this is the
            max softmax probability; with one sigmoid channel (binary, mmseg's
            ``threshold``) the probability of the chosen side.
    """
    logits = seg_logits.float()
    if logits.shape[0] == 1:
        p = logits[0].sigmoid()
        return torch.where(pred.bool(), p, 1 - p)
    return logits.softmax(0).gather(0, pred.long()[None])[0]
