# Copyright (c) skd_det contributors.
"""PNG figures of the analysis tools (matplotlib, Agg: no display needed)."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_pr_curves(curves: Dict[str, dict], path: str, title: str) -> str:
    """One precision-recall panel per class with ground truth.

    Args:
        curves (dict): class name -> ``recall``, ``precision`` arrays and ``ap`` (None for a
            class without ground truth: no panel).
    """
    shown = {name: c for name, c in curves.items() if c['ap'] is not None}
    if len(shown) < len(curves):
        title += f'\n{len(curves) - len(shown)} classes without ground truth not shown'
    n = max(len(shown), 1)
    cols = min(5, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.4 * rows), squeeze=False)
    for ax, (name, c) in zip(axes.flat, shown.items()):
        ax.plot(c['recall'], c['precision'], lw=1.2)
        ax.set_title(f'{name}\nAP={c["ap"]:.3f}', fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis('off')
    fig.supxlabel('recall', fontsize=9)
    fig.supylabel('precision', fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_confusion_matrix(cm: np.ndarray,
                          labels: Sequence[str],
                          path: str,
                          title: str,
                          xlabel: str = 'prediction',
                          ylabel: str = 'ground truth') -> str:
    """Row-normalised confusion matrix in percent (each row: where that class went)."""
    cm = np.asarray(cm, dtype=np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        pct = cm / cm.sum(1, keepdims=True) * 100
    n = len(labels)
    size = max(4., 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(np.nan_to_num(pct), cmap='viridis', vmin=0, vmax=100)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label='% of the row')
    ax.set_xticks(range(n), labels, rotation=60, ha='right', fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        f'{pct[i, j]:.0f}',
                        ha='center',
                        va='center',
                        fontsize=6,
                        color='w' if pct[i, j] < 60 else 'k')
    return save_figure(fig, path)


def plot_reliability(rows: List[dict], ece: float, path: str, title: str) -> str:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with the
    gap to each bin's mean confidence, and the sample count per bin below."""
    lo = np.array([r['lo'] for r in rows])
    width = rows[0]['hi'] - rows[0]['lo']
    acc = np.array([r['accuracy'] if r['count'] else 0. for r in rows])
    conf = np.array([r['confidence'] if r['count'] else 0. for r in rows])
    counts = np.array([r['count'] for r in rows])
    fig, (ax, ax_n) = plt.subplots(
        2, 1, figsize=(4.5, 5.5), sharex=True, gridspec_kw=dict(height_ratios=[3, 1]))
    filled = counts > 0
    ax.bar(lo[filled], acc[filled], width=width, align='edge', edgecolor='k', label='accuracy')
    ax.bar(
        lo[filled],
        conf[filled] - acc[filled],
        bottom=acc[filled],
        width=width,
        align='edge',
        color='tab:red',
        alpha=0.35,
        hatch='//',
        label='gap to confidence')
    ax.plot([0, 1], [0, 1], 'k--', lw=1, label='perfect calibration')
    ax.set_ylim(0, 1)
    ax.set_ylabel('accuracy')
    ax.set_title(f'{title}\nECE={ece:.4f} ({len(rows)} bins)', fontsize=10)
    ax.legend(fontsize=7, loc='upper left')
    ax_n.bar(lo, counts, width=width, align='edge', color='gray', edgecolor='k')
    ax_n.set_yscale('log' if counts.max(initial=0) > 100 else 'linear')
    ax_n.set_xlabel('confidence')
    ax_n.set_ylabel('count')
    ax_n.set_xlim(0, 1)
    return save_figure(fig, path)


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, path: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, lw=1.5, label=f'AUC={auc:.4f}')
    ax.plot([0, 1], [0, 1], 'k--', lw=1)
    ax.set_xlabel('false positive rate')
    ax.set_ylabel('true positive rate')
    ax.set_title(title, fontsize=10)
    ax.legend(loc='lower right')
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_curves(series: Dict[str, Tuple[np.ndarray, np.ndarray]],
                groups: Dict[str, str],
                path: str,
                ylabel: str,
                xlabel: str = 'iteration',
                title: Optional[str] = None) -> str:
    """Lines ``name -> (x, y)``, one colour per group (``groups``: name -> group)."""
    colors = {g: f'C{i}' for i, g in enumerate(dict.fromkeys(groups.values()))}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, (x, y) in series.items():
        ax.plot(x, y, lw=1, color=colors[groups[name]], alpha=0.8, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
