# Copyright (c) skd_det contributors.
"""Corruption robustness summaries: "Benchmarking Robustness in Object
Detection: Autonomous Driving when Winter is Coming" (Michaelis et al., 2019).

With ``P_clean`` the metric on clean data and ``P_{c,s}`` on corruption ``c``
at severity ``s`` (1..5)::

    mPC = 1/N_c sum_c 1/N_s sum_s P_{c,s}      (mean performance under corruption)
    rPC = mPC / P_clean                         (relative performance)

The metric is whatever the test reports (VOC mAP, COCO AP, mIoU), in its own
unit; rPC is a fraction (printed as a percentage). Pure python/matplotlib.
"""
import math
from typing import Mapping, Optional

from .tables import markdown_table


def robustness_summary(clean: Optional[float], corrupted: Mapping[str, Mapping[int,
                                                                               float]]) -> dict:
    """mPC and rPC of a clean score and per-corruption, per-severity scores.

    Args:
        clean (float, optional): P_clean (None if not evaluated).
        corrupted (dict): corruption name -> {severity (1..5): P_{c,s}}.

    Returns:
        dict: ``clean``, ``corruptions`` (name -> ``{'severities': {s: P},
        'mean': mean over s}``), ``mPC``, ``rPC`` (None without a clean
        score, or where it is 0).

    Raises:
        ValueError: No corruption, a corruption without severities, or a
            severity outside 1..5.
    """
    if not corrupted:
        raise ValueError('robustness_summary: no corrupted results')
    corruptions = {}
    for name, by_severity in corrupted.items():
        if not by_severity:
            raise ValueError(f'robustness_summary: {name} has no severities')
        bad = [s for s in by_severity if not 1 <= int(s) <= 5]
        if bad:
            raise ValueError(f'robustness_summary: {name} has severities '
                             f'{bad} outside 1..5 (0 is the clean score)')
        scores = {int(s): float(v) for s, v in sorted(by_severity.items())}
        corruptions[name] = dict(severities=scores, mean=sum(scores.values()) / len(scores))
    mpc = sum(c['mean'] for c in corruptions.values()) / len(corruptions)
    rpc = None
    if clean is not None and clean != 0 and not math.isnan(clean):
        rpc = mpc / clean
    return dict(clean=clean, corruptions=corruptions, mPC=mpc, rPC=rpc)


def _fmt(v: Optional[float], scale: float) -> str:
    return '-' if v is None else f'{v * scale:.1f}'


def robustness_table(summary: dict, metric: str = 'AP', scale: float = 100.0) -> str:
    """Markdown table: one row per corruption with the clean score, the
    score at each severity, its mean, then the overall mPC and rPC.
    ``scale`` multiplies scores (100 for mmdet's fractions, 1 for mIoU)."""
    severities = sorted({s for c in summary['corruptions'].values() for s in c['severities']})
    headers = ['corruption', f'clean {metric}'] + [f'sev {s}' for s in severities] + ['mean']
    rows = []
    for name, c in summary['corruptions'].items():
        rows.append([name, _fmt(summary['clean'], scale)] +
                    [_fmt(c['severities'].get(s), scale)
                     for s in severities] + [_fmt(c['mean'], scale)])
    rpc = summary['rPC']
    footer = (f'mPC = {_fmt(summary["mPC"], scale)}, rPC = '
              f'{"-" if rpc is None else f"{100 * rpc:.1f}%"}')
    return markdown_table(headers, rows) + '\n\n' + footer + '\n'


def plot_robustness(summary: dict,
                    path: str,
                    title: str,
                    metric: str = 'AP',
                    scale: float = 100.0) -> str:
    """PNG of the score against severity (0 = clean), one line per
    corruption."""
    from .plotting import plt, save_figure
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, c in summary['corruptions'].items():
        xs = sorted(c['severities'])
        ys = [c['severities'][s] * scale for s in xs]
        if summary['clean'] is not None:
            xs, ys = [0] + xs, [summary['clean'] * scale] + ys
        ax.plot(xs, ys, marker='o', label=name)
    ax.set_xlabel('severity (0 = clean)')
    ax.set_ylabel(metric)
    ax.set_xticks(range(0, 6))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    rpc = summary['rPC']
    ax.set_title(
        f'{title}\nmPC {summary["mPC"] * scale:.1f}' +
        ('' if rpc is None else f', rPC {100 * rpc:.1f}%'),
        fontsize=9)
    return save_figure(fig, path)
