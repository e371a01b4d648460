# Copyright (c) skd_det contributors.
"""ROC curve and its area for a binary decision made by thresholding a score."""
from typing import Dict

import numpy as np


def roc_curve(scores, labels) -> Dict[str, np.ndarray]:
    """False/true positive rates at every distinct score threshold (``score >= t``).

    Equal scores share one threshold, so a tie between a positive and a negative is a
    diagonal step and counts 1/2 in the AUC, as in the Mann-Whitney statistic.

    Returns:
        dict: ``fpr``, ``tpr`` (starting at 0, ending at 1) and ``thresholds``.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f'{scores.size} scores but {labels.size} labels')
    order = np.argsort(-scores, kind='stable')
    scores, labels = scores[order], labels[order]
    last_of_threshold = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    tp = np.cumsum(labels)[last_of_threshold]
    fp = np.cumsum(~labels)[last_of_threshold]
    num_pos, num_neg = labels.sum(), (~labels).sum()
    return dict(
        fpr=np.r_[0., fp / num_neg] if num_neg else np.full(tp.size + 1, np.nan),
        tpr=np.r_[0., tp / num_pos] if num_pos else np.full(tp.size + 1, np.nan),
        thresholds=np.r_[np.inf, scores[last_of_threshold]])


def roc_auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Trapezoidal area under a ROC curve; NaN when one class is absent."""
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float('nan')
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
