# Copyright (c) skd_det contributors.
"""Calibration of detection scores as an mmengine metric (detection data samples, read as the
plain dicts the Evaluator passes: no mmdet import)."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from skd_det.analysis.calibration import (NUM_BINS, aurc, calibration_bins, calibration_summary,
                                          reliability_table)
from skd_det.analysis.detection import IGNORED, TP, match_detections


@METRICS.register_module()
class DetectionCalibrationMetric(BaseMetric):
    """ECE, AURC and E-AURC of detection scores.

    A detection is correct if it matches a still unmatched ground truth of its class at
    IoU >= ``iou_thr``, detections taken by decreasing score (COCO's matching); detections on
    ignored ground truth only (``ignored_instances``: VOC difficult, COCO crowd) are left
    out. Use next to the accuracy metric::

        val_evaluator = [dict(type='VOCMetric'), dict(type='DetectionCalibrationMetric')]

    Args:
        iou_thr (float): IoU for a match. Defaults to 0.5.
        score_thr (float): Only detections with a score >= this count. Defaults to 0 (all
            the detector outputs).
        num_bins (int): Equal-width ECE bins. Defaults to 15.
        out_dir (str, optional): If set, a reliability diagram
            (``reliability_diagram.png``) is written there after every evaluation.
    """
    default_prefix = 'calibration'

    def __init__(self,
                 iou_thr: float = 0.5,
                 score_thr: float = 0.,
                 num_bins: int = NUM_BINS,
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thr = iou_thr
        self.score_thr = score_thr
        self.num_bins = num_bins
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred, gt = sample['pred_instances'], sample['gt_instances']
            ignored = sample.get('ignored_instances') or {}
            scores = pred['scores'].cpu().numpy()
            keep = scores >= self.score_thr
            gt_bboxes = gt['bboxes'].cpu().numpy().reshape(-1, 4)
            gt_labels = gt['labels'].cpu().numpy()
            gt_ignore = np.zeros(len(gt_labels), bool)
            if len(ignored.get('labels', [])):
                gt_bboxes = np.vstack([gt_bboxes, ignored['bboxes'].cpu().numpy()])
                gt_labels = np.concatenate([gt_labels, ignored['labels'].cpu().numpy()])
                gt_ignore = np.r_[gt_ignore, np.ones(len(ignored['labels']), bool)]
            status = match_detections(pred['bboxes'].cpu().numpy()[keep], scores[keep],
                                      pred['labels'].cpu().numpy()[keep], gt_bboxes, gt_labels,
                                      gt_ignore, self.iou_thr)
            counted = status != IGNORED
            self.results.append((scores[keep][counted], status[counted] == TP))

    def compute_metrics(self, results: list) -> dict:
        conf = np.concatenate([r[0] for r in results]) if results else np.zeros(0)
        correct = np.concatenate([r[1] for r in results]) if results else np.zeros(0, bool)
        bins = calibration_bins(conf, correct, self.num_bins)
        summary = calibration_summary(bins, aurc(conf, correct))
        if self.out_dir:
            from skd_det.analysis.plotting import plot_reliability
            os.makedirs(self.out_dir, exist_ok=True)
            plot_reliability(
                reliability_table(bins), summary['ece'],
                osp.join(self.out_dir, 'reliability_diagram.png'),
                f'Detection scores, correct = matched at IoU {self.iou_thr}')
        return dict(
            ECE=summary['ece'],
            AURC=summary['aurc'],
            E_AURC=summary['eaurc'],
            num_dets=summary['num_samples'])
