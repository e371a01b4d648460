# Copyright (c) skd_det contributors.
"""Calibration of per-pixel segmentation probabilities as an mmengine metric (segmentation
data samples, read as the plain dicts the Evaluator passes: no mmseg import)."""
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from skd_det.analysis.calibration import (NUM_BINS, CalibrationHistogram, calibration_summary,
                                          reliability_table)
from skd_det.analysis.segmentation import pixel_confidence


@METRICS.register_module()
class SegCalibrationMetric(BaseMetric):
    """ECE, AURC and E-AURC of pixel confidences: the probability the model gives its
    predicted class (max softmax of ``seg_logits``), correct if it equals the ground truth;
    ``ignore_index`` pixels are left out. Works online from the logits mmseg's predict
    attaches, so nothing per pixel is kept: each rank accumulates a fine confidence
    histogram (see :class:`~skd_det.analysis.calibration.CalibrationHistogram`)::

        val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                         dict(type='SegCalibrationMetric')]

    Args:
        ignore_index (int): Label of pixels that do not count. Defaults to 255.
        num_bins (int): Equal-width ECE bins. Defaults to 15.
        out_dir (str, optional): If set, a reliability diagram
            (``reliability_diagram.png``) is written there after every evaluation.
    """
    default_prefix = 'calibration'

    def __init__(self,
                 ignore_index: int = 255,
                 num_bins: int = NUM_BINS,
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.num_bins = num_bins
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if not self.results:  # one running histogram per rank, merged in compute_metrics
            self.results.append(CalibrationHistogram(self.num_bins))
        hist = self.results[0]
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'][0]
            gt = sample['gt_sem_seg']['data'][0].to(pred.device)
            conf = pixel_confidence(sample['seg_logits']['data'], pred)
            valid = gt != self.ignore_index
            hist.update(conf[valid].cpu().numpy(), (pred == gt)[valid].cpu().numpy())

    def compute_metrics(self, results: list) -> dict:
        total = CalibrationHistogram(self.num_bins)
        for hist in results:
            total.merge(hist)
        bins = total.bins()
        summary = calibration_summary(bins, total.aurc())
        if self.out_dir:
            from skd_det.analysis.plotting import plot_reliability
            os.makedirs(self.out_dir, exist_ok=True)
            plot_reliability(
                reliability_table(bins), summary['ece'],
                osp.join(self.out_dir, 'reliability_diagram.png'),
                'Pixel confidence (probability of the predicted class)')
        return dict(
            ECE=summary['ece'],
            AURC=summary['aurc'],
            E_AURC=summary['eaurc'],
            num_pixels=summary['num_samples'])
