# Copyright (c) skd_det contributors.
"""Per-class average precision and precision-recall curves by the official protocols:
mmdet's ``eval_map`` (Pascal VOC, as ``VOCMetric`` calls it) and pycocotools (COCO)."""
import contextlib
import io
from typing import Dict, List, Sequence

import numpy as np


def voc_per_class(dets: List[List[np.ndarray]],
                  annotations: List[dict],
                  classes: Sequence[str],
                  iou_thr: float = 0.5,
                  eval_mode: str = '11points') -> Dict[str, object]:
    """``eval_map`` with ``VOCMetric``'s settings (legacy ``+1`` box sizes).

    Args:
        dets (list[list[ndarray]]): per image, per class (n, 5) boxes + score.
        annotations (list[dict]): per image ``bboxes``, ``labels``, ``bboxes_ignore``,
            ``labels_ignore``.

    Returns:
        dict: ``mAP`` and ``per_class``: name -> ``ap`` (None without ground truth),
        ``num_gts``, ``num_dets``, ``recall``, ``precision`` (the curve, by decreasing score).
    """
    from mmdet.evaluation.functional import eval_map
    mean_ap, results = eval_map(
        dets,
        annotations,
        iou_thr=iou_thr,
        dataset=list(classes),
        logger='silent',
        eval_mode=eval_mode,
        use_legacy_coordinate=True,
        nproc=1)
    per_class = {}
    for name, r in zip(classes, results):
        per_class[name] = dict(
            ap=float(r['ap']) if r['num_gts'] else None,
            num_gts=int(r['num_gts']),
            num_dets=int(r['num_dets']),
            recall=np.asarray(r['recall']).ravel(),
            precision=np.asarray(r['precision']).ravel())
    return dict(
        mAP=float(mean_ap),
        per_class=per_class,
        protocol=f'Pascal VOC (mmdet eval_map, IoU {iou_thr}, {eval_mode})')


def coco_per_class(coco_gt, detections: List[dict], img_ids: Sequence[int], cat_ids: Sequence[int],
                   classes: Sequence[str]) -> Dict[str, object]:
    """COCO bbox evaluation (pycocotools) broken down per class.

    Args:
        coco_gt (COCO): ground truth.
        detections (list[dict]): ``image_id``, ``category_id``, ``bbox`` (xywh), ``score``.

    Returns:
        dict: ``mAP`` (AP@[.5:.95]), ``AP50`` and ``per_class``: name -> ``ap``, ``ap50``
        (None without ground truth), ``num_gts``, ``num_dets`` and the IoU-0.5 curve
        (``recall`` at COCO's 101 points, interpolated ``precision``).
    """
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco_dt = coco_gt.loadRes(detections) if detections else None
        if coco_dt is None:
            precision = np.full((10, 101, len(cat_ids), 4, 3), -1.)
        else:
            ev = COCOeval(coco_gt, coco_dt, 'bbox')
            ev.params.imgIds = list(img_ids)
            ev.params.catIds = list(cat_ids)
            ev.evaluate()
            ev.accumulate()
            precision = ev.eval['precision']  # (iou, recall, class, area, max dets)
    recall_points = np.linspace(0, 1, 101)
    per_class, aps, ap50s = {}, [], []
    for k, (name, cat_id) in enumerate(zip(classes, cat_ids)):
        num_gts = len(coco_gt.getAnnIds(imgIds=list(img_ids), catIds=[cat_id], iscrowd=False))
        # all areas, 100 detections; -1 marks "no ground truth", or no detections at all
        p = precision[:, :, k, 0, -1].clip(0)
        ap = ap50 = None
        if num_gts:
            ap, ap50 = float(p.mean()), float(p[0].mean())
            aps.append(ap)
            ap50s.append(ap50)
        per_class[name] = dict(
            ap=ap,
            ap50=ap50,
            num_gts=num_gts,
            num_dets=sum(d['category_id'] == cat_id for d in detections),
            recall=recall_points,
            precision=p[0])
    return dict(
        mAP=float(np.mean(aps)) if aps else float('nan'),
        AP50=float(np.mean(ap50s)) if ap50s else float('nan'),
        per_class=per_class,
        protocol='COCO (pycocotools, AP@[.5:.95], all areas, 100 detections)')
