# Copyright (c) skd_det contributors.
"""Confidence intervals of seed studies: the mean of a few runs and the paired difference
between two variants trained on the same seeds (Student's t, two-sided)."""
from typing import Dict, Mapping, Optional

import numpy as np
from scipy import stats

PAIRED_TEST = 'paired t'


def t_interval(values, confidence: float = 0.95) -> Dict[str, Optional[float]]:
    """Mean, sample std (ddof=1) and the two-sided Student-t interval of the mean of
    ``values`` (shape (n,)); ``low``/``high``/``std`` are None for fewer than two values."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError('t_interval: no values')
    out = dict(n=int(x.size), mean=float(x.mean()), std=None, low=None, high=None)
    if x.size > 1:
        std = float(x.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * std / np.sqrt(x.size))
        out.update(std=std, low=out['mean'] - half, high=out['mean'] + half)
    return out


def paired_difference(baseline: Mapping[int, float],
                      other: Mapping[int, float],
                      confidence: float = 0.95) -> Optional[dict]:
    """``other - baseline`` over the seeds both have a value for (dicts seed -> value).

    Returns the seeds, per-seed deltas and :func:`t_interval` of the deltas (the paired t
    interval), the two-sided p-value of the paired t test (None below two pairs or when all
    deltas are equal) and ``excludes_zero`` (the interval lies on one side of 0); None when
    no seed is shared.
    """
    seeds = [s for s in other if s in baseline]
    if not seeds:
        return None
    deltas = [other[s] - baseline[s] for s in seeds]
    out = dict(
        test=PAIRED_TEST,
        confidence=confidence,
        seeds=seeds,
        deltas=deltas,
        **t_interval(deltas, confidence),
        p_value=None)
    if out['std']:  # a zero spread has no t statistic
        t = out['mean'] / (out['std'] / np.sqrt(out['n']))
        out['p_value'] = float(2 * stats.t.sf(abs(t), out['n'] - 1))
    out['excludes_zero'] = bool(out['low'] is not None and (out['low'] > 0 or out['high'] < 0))
    return out
