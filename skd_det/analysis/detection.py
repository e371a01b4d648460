# Copyright (c) skd_det contributors.
"""Per-detection matching and the threshold-level detection statistics built on it.

One matching rule serves calibration, precision/recall/F1 at a score threshold and the
correctness flags: detections of an image are visited by decreasing score and each takes the
unmatched ground truth of its class with the highest IoU >= ``iou_thr`` (COCO's rule). A
detection whose best candidate is an ignored ground truth (VOC "difficult", COCO crowd) is
neither right nor wrong and is left out, as AP evaluation does. IoU uses continuous
coordinates (``x2 - x1``), as COCO and mmdet's confusion-matrix tool do.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch
from torchvision.ops import box_iou

TP, FP, IGNORED = 1, 0, -1


def bbox_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU matrix (n, m) of xyxy boxes: ``torchvision.ops.box_iou`` in float64, continuous
    coordinates; an inverted box has no area, and two empty boxes have IoU 0.

    Not mmdet's ``bbox_overlaps``: it computes in float32, which moves IoUs that lie on a
    threshold. Its VOC mode (``use_legacy_coordinate``, widths ``x2 - x1 + 1``, what
    mmdet's VOCMetric uses for mAP) is not this module's convention (see above)."""
    boxes1 = torch.as_tensor(np.asarray(boxes1, dtype=np.float64).reshape(-1, 4))
    boxes2 = torch.as_tensor(np.asarray(boxes2, dtype=np.float64).reshape(-1, 4))
    # x2 < x1 (or y2 < y1) -> an empty box at x1 (y1)
    boxes1 = torch.cat([boxes1[:, :2], torch.maximum(boxes1[:, 2:], boxes1[:, :2])], 1)
    boxes2 = torch.cat([boxes2[:, :2], torch.maximum(boxes2[:, 2:], boxes2[:, :2])], 1)
    return box_iou(boxes1, boxes2).nan_to_num(0.).numpy()


def match_detections(bboxes,
                     scores,
                     labels,
                     gt_bboxes,
                     gt_labels,
                     gt_ignore=None,
                     iou_thr: float = 0.5) -> np.ndarray:
    """Status of each detection of one image: ``TP`` (1), ``FP`` (0) or ``IGNORED`` (-1).

    Args:
        bboxes (array): (n, 4) xyxy detections; ``scores`` (n,), ``labels`` (n,).
        gt_bboxes (array): (m, 4) xyxy ground truth; ``gt_labels`` (m,).
        gt_ignore (array, optional): (m,) bool, ground truth that does not count.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel()
    gt_labels = np.asarray(gt_labels).ravel()
    gt_ignore = (
        np.zeros(gt_labels.size, bool)
        if gt_ignore is None else np.asarray(gt_ignore, bool).ravel())
    status = np.full(scores.size, FP, dtype=np.int8)
    if scores.size == 0 or gt_labels.size == 0:
        return status
    ious = bbox_iou(bboxes, gt_bboxes)
    same_class = labels[:, None] == gt_labels[None, :]
    matched = np.zeros(gt_labels.size, bool)
    for i in np.argsort(-scores, kind='stable'):
        # real ground truth first: an ignored one is only a fallback (COCO sorts crowds last)
        free = same_class[i] & ~matched & ~gt_ignore & (ious[i] >= iou_thr)
        if free.any():
            j = np.flatnonzero(free)[np.argmax(ious[i][free])]
            matched[j] = True
            status[i] = TP
        elif (same_class[i] & gt_ignore & (ious[i] >= iou_thr)).any():
            status[i] = IGNORED
    return status


def foreground_flags(bboxes, gt_bboxes, gt_ignore=None, iou_thr: float = 0.5) -> np.ndarray:
    """Foreground (1) vs background (0) of each detection, class-agnostic: foreground if it
    covers a ground-truth object of any class at IoU >= ``iou_thr``; -1 if it covers only
    ignored ground truth. Several detections of one object are all foreground."""
    n = np.asarray(bboxes).reshape(-1, 4).shape[0]
    flags = np.zeros(n, dtype=np.int8)
    gt_bboxes = np.asarray(gt_bboxes).reshape(-1, 4)
    if n == 0 or gt_bboxes.shape[0] == 0:
        return flags
    gt_ignore = (
        np.zeros(gt_bboxes.shape[0], bool)
        if gt_ignore is None else np.asarray(gt_ignore, bool).ravel())
    hits = bbox_iou(bboxes, gt_bboxes) >= iou_thr
    flags[(hits & gt_ignore[None]).any(1)] = -1
    flags[(hits & ~gt_ignore[None]).any(1)] = 1
    return flags


def precision_recall_f1(status: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                        num_gts: Sequence[int], score_thr: float) -> Dict[str, list]:
    """Precision, recall and F1 per class, and pooled over all classes (micro), counting the
    detections with ``score >= score_thr``.

    Args:
        status, scores, labels (array): all detections of the data set (``match_detections``
            statuses, concatenated over images).
        num_gts (list[int]): non-ignored ground truth per class.
    """
    keep = (np.asarray(scores) >= score_thr) & (status != IGNORED)
    status, labels = np.asarray(status)[keep], np.asarray(labels)[keep]
    num_classes = len(num_gts)
    tp = np.bincount(labels[status == TP], minlength=num_classes).astype(np.float64)
    fp = np.bincount(labels[status == FP], minlength=num_classes).astype(np.float64)
    gts = np.asarray(num_gts, dtype=np.float64)

    def prf(tp, fp, gts):
        precision = tp / (tp + fp) if tp + fp else float('nan')
        recall = tp / gts if gts else float('nan')
        if np.isnan(precision) or np.isnan(recall):
            f1 = float('nan')
        else:
            f1 = 2 * precision * recall / (precision + recall) if tp else 0.
        return dict(
            precision=float(precision),
            recall=float(recall),
            f1=float(f1),
            tp=int(tp),
            fp=int(fp),
            num_gts=int(gts))

    return dict(
        per_class=[prf(tp[c], fp[c], gts[c]) for c in range(num_classes)],
        overall=prf(tp.sum(), fp.sum(), gts.sum()))


def detection_confusion_matrix(images: List[dict],
                               num_classes: int,
                               score_thr: float = 0.3,
                               iou_thr: float = 0.5) -> np.ndarray:
    """Confusion matrix (num_classes + 1)^2 with a background row and column, by the logic of
    mmdet's ``tools/analysis_tools/confusion_matrix.py``: every detection above ``score_thr``
    counts once for each ground truth it overlaps at IoU >= ``iou_thr`` (row = true class,
    column = predicted class); one overlapping nothing counts as background (last row); a
    ground truth no detection of its own class overlaps is missed (last column). Ignored
    ground truth is left out here, as in AP evaluation (mmdet's tool keeps it).

    Args:
        images (list[dict]): per image ``bboxes``, ``scores``, ``labels``, ``gt_bboxes``,
            ``gt_labels``, ``gt_ignore``.
    """
    cm = np.zeros((num_classes + 1, num_classes + 1), dtype=np.int64)
    for img in images:
        keep_gt = ~np.asarray(img['gt_ignore'], bool)
        gt_bboxes = np.asarray(img['gt_bboxes']).reshape(-1, 4)[keep_gt]
        gt_labels = np.asarray(img['gt_labels'])[keep_gt]
        keep = np.asarray(img['scores']) >= score_thr
        labels = np.asarray(img['labels'])[keep]
        ious = bbox_iou(np.asarray(img['bboxes']).reshape(-1, 4)[keep], gt_bboxes)
        found = np.zeros(gt_labels.size, bool)
        for i, label in enumerate(labels):
            hits = np.flatnonzero(ious[i] >= iou_thr)
            if hits.size == 0:
                cm[-1, label] += 1
            for j in hits:
                cm[gt_labels[j], label] += 1
                found[j] |= gt_labels[j] == label
        np.add.at(cm[:, -1], gt_labels[~found], 1)
    return cm
