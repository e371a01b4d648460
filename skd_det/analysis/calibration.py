# Copyright (c) skd_det contributors.
"""Calibration and selective-prediction metrics of (confidence, correct) pairs.

- Expected calibration error (ECE, Guo et al. 2017) over equal-width bins of [0, 1]:
  ``sum_b n_b / n * |acc_b - conf_b|``. A confidence ``c`` falls in bin ``floor(c * B)``
  (1.0 in the last bin), so the bins are ``[0, 1/B), [1/B, 2/B), ..., [(B-1)/B, 1]``.
- AURC (Geifman et al. 2019, as reported by PS-KD): samples sorted by decreasing confidence;
  at coverage ``k / n`` the risk is the error rate of the ``k`` most confident samples, and
  AURC is the mean risk over ``k = 1..n``. E-AURC subtracts the AURC of an oracle ranking
  (all correct samples first), leaving the part due to the ranking alone.

Ties in confidence have no natural order, so samples of equal confidence form a group and the
AURC is its expectation over random orders within each group (exact without ties). The same
rule lets :class:`CalibrationHistogram` compute AURC from a fine histogram, for pixel counts
too large to sort.
"""
from typing import Dict, List, Tuple

import numpy as np
import torch

NUM_BINS = 15


def _check(conf: np.ndarray, correct: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(conf, dtype=np.float64).ravel()
    correct = np.asarray(correct).ravel().astype(bool)
    if conf.shape != correct.shape:
        raise ValueError(f'{conf.size} confidences but {correct.size} correctness flags')
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise ValueError('confidences must lie in [0, 1]')
    return conf, correct


def bin_index(conf: np.ndarray, num_bins: int) -> np.ndarray:
    """Index of the equal-width bin of each confidence in [0, 1]; 1.0 goes to the last bin."""
    return np.minimum((np.asarray(conf, dtype=np.float64) * num_bins).astype(np.int64),
                      num_bins - 1)


def calibration_bins(conf, correct, num_bins: int = NUM_BINS) -> Dict[str, np.ndarray]:
    """Per-bin sample count, sum of confidences and number of correct samples."""
    conf, correct = _check(conf, correct)
    idx = bin_index(conf, num_bins)
    return dict(
        count=np.bincount(idx, minlength=num_bins).astype(np.float64),
        conf_sum=np.bincount(idx, weights=conf, minlength=num_bins),
        correct_sum=np.bincount(idx, weights=correct, minlength=num_bins))


def ece_from_bins(bins: Dict[str, np.ndarray]) -> float:
    n = bins['count'].sum()
    if n == 0:
        return float('nan')
    # n_b / n * |acc_b - conf_b| == |correct_b - conf_sum_b| / n
    return float(np.abs(bins['correct_sum'] - bins['conf_sum']).sum() / n)


def expected_calibration_error(conf, correct, num_bins: int = NUM_BINS) -> float:
    return ece_from_bins(calibration_bins(conf, correct, num_bins))


def reliability_table(bins: Dict[str, np.ndarray]) -> List[dict]:
    """Rows of the reliability diagram: bin range, count, mean confidence, accuracy."""
    num_bins = len(bins['count'])
    rows = []
    for b in range(num_bins):
        n = bins['count'][b]
        rows.append(
            dict(
                lo=b / num_bins,
                hi=(b + 1) / num_bins,
                count=int(n),
                confidence=float(bins['conf_sum'][b] / n) if n else None,
                accuracy=float(bins['correct_sum'][b] / n) if n else None))
    return rows


def _harmonic_diff(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``H(hi) - H(lo)`` for harmonic numbers ``H(n) = sum_{k<=n} 1/k``, via digamma."""
    lo_t = torch.as_tensor(lo, dtype=torch.float64) + 1
    hi_t = torch.as_tensor(hi, dtype=torch.float64) + 1
    return (torch.special.digamma(hi_t) - torch.special.digamma(lo_t)).numpy()


def aurc_from_groups(counts, errors) -> float:
    """Expected AURC of groups given in decreasing confidence, the order within a group random.

    Args:
        counts (array): Number of samples of each group.
        errors (array): Number of wrong samples of each group.
    """
    m = np.asarray(counts, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    keep = m > 0
    m, e = m[keep], e[keep]
    n = m.sum()
    if n == 0:
        return float('nan')
    before = np.cumsum(m) - m  # samples ranked before each group (A)
    err_before = np.cumsum(e) - e  # their errors (E)
    dh = _harmonic_diff(before, before + m)
    # sum_{j=1..m} (E + e*j/m) / (A + j) = E*dH + e/m * (m - A*dH): among the first j of a
    # randomly ordered group, e*j/m are wrong on average
    total = err_before * dh + e / m * (m - before * dh)
    return float(total.sum() / n)


def _oracle_aurc(num_correct: float, num_wrong: float) -> float:
    return aurc_from_groups([num_correct, num_wrong], [0, num_wrong])


def aurc(conf, correct) -> Dict[str, float]:
    """AURC and E-AURC of samples with confidences ``conf`` and correctness ``correct``."""
    conf, correct = _check(conf, correct)
    if conf.size == 0:
        return dict(aurc=float('nan'), eaurc=float('nan'))
    values, inverse = np.unique(-conf, return_inverse=True)  # groups by decreasing conf
    counts = np.bincount(inverse, minlength=len(values))
    errors = np.bincount(inverse, weights=~correct, minlength=len(values))
    value = aurc_from_groups(counts, errors)
    num_wrong = float((~correct).sum())
    return dict(aurc=value, eaurc=value - _oracle_aurc(conf.size - num_wrong, num_wrong))


class CalibrationHistogram:
    """Running calibration statistics over many samples (pixels) without keeping them.

    Confidences are counted in ``num_bins * resolution`` fine equal-width bins: aggregating
    ``resolution`` fine bins gives the ECE bins exactly, and the fine bins act as confidence
    groups for AURC (confidences within 1 / (num_bins * resolution) count as tied).
    """

    def __init__(self, num_bins: int = NUM_BINS, resolution: int = 1000):
        self.num_bins = num_bins
        self.resolution = resolution
        fine = num_bins * resolution
        self.count = np.zeros(fine)
        self.conf_sum = np.zeros(fine)
        self.correct_sum = np.zeros(fine)

    def update(self, conf, correct) -> None:
        conf, correct = _check(conf, correct)
        fine = len(self.count)
        idx = bin_index(conf, fine)
        self.count += np.bincount(idx, minlength=fine)
        self.conf_sum += np.bincount(idx, weights=conf, minlength=fine)
        self.correct_sum += np.bincount(idx, weights=correct, minlength=fine)

    def merge(self, other: 'CalibrationHistogram') -> None:
        self.count += other.count
        self.conf_sum += other.conf_sum
        self.correct_sum += other.correct_sum

    def bins(self) -> Dict[str, np.ndarray]:
        """The ``num_bins`` ECE bins (as :func:`calibration_bins` returns them)."""
        shape = (self.num_bins, self.resolution)
        return dict(
            count=self.count.reshape(shape).sum(1),
            conf_sum=self.conf_sum.reshape(shape).sum(1),
            correct_sum=self.correct_sum.reshape(shape).sum(1))

    def aurc(self) -> Dict[str, float]:
        counts = self.count[::-1]
        errors = (self.count - self.correct_sum)[::-1]
        value = aurc_from_groups(counts, errors)
        num_wrong = float(errors.sum())
        return dict(aurc=value, eaurc=value - _oracle_aurc(self.count.sum() - num_wrong, num_wrong))


def calibration_summary(bins: Dict[str, np.ndarray], aurc_values: Dict[str, float]) -> dict:
    """The numbers reported for a set of predictions: ECE, AURC, E-AURC, accuracy, count."""
    n = float(bins['count'].sum())
    return dict(
        ece=ece_from_bins(bins),
        aurc=aurc_values['aurc'],
        eaurc=aurc_values['eaurc'],
        accuracy=float(bins['correct_sum'].sum() / n) if n else float('nan'),
        mean_confidence=float(bins['conf_sum'].sum() / n) if n else float('nan'),
        num_samples=int(n))
