# Copyright (c) skd_det contributors.
"""Results of a seed study (:mod:`skd_det.analysis.study`): per-seed values, mean ± std, the
paired difference of every variant to the baseline with its t interval, as JSON, a markdown
table and a PNG."""
import json
from typing import Dict, List

import numpy as np

from .paired import PAIRED_TEST, paired_difference, t_interval
from .tables import fmt, markdown_table

CONFIDENCE = 0.95


def summarise(study, runs, results: Dict[str, dict], log=print) -> dict:
    """Collect the metrics of the finished runs; a failed run, one not run (yet, or running in
    another runner) or one whose test log lacks a metric, is a hole (the last two reported as
    ``error: <variant> seed <S>: ...``) left out of the statistics. Values are multiplied by
    ``study.scale``."""
    variants, seeds = list(study.variants), list(study.seeds)
    by_name = {run.name: run for run in runs}
    run_rows, metrics = [], {}
    for metric in study.metrics:
        metrics[metric] = dict(values={v: [] for v in variants}, holes={v: {} for v in variants})
    for variant in variants:
        for seed in seeds:
            run = by_name[f'{variant} seed {seed}']
            result = results.get(run.name)
            status = 'ok' if result else 'failed' if run.error else 'not run'
            row = dict(
                variant=variant,
                seed=seed,
                work_dir=run.work_dir,
                status=status,
                error=None if result else run.error or run.skipped or 'no result.json yet')
            if result:
                row.update(
                    train_s=result['train_s'], test_s=result['test_s'], metrics=result['metrics'])
            for metric in study.metrics:
                value = result['metrics'].get(metric) if result else None
                if result and value is None:
                    row['status'] = 'missing metric'
                    row['error'] = (f'the test log has no {metric!r} (it has '
                                    f'{sorted(result["metrics"])}) in {run.test_path("test")}')
                    log(f'error: {run.name}: {row["error"]}')
                m = metrics[metric]
                m['values'][variant].append(None if value is None else value * study.scale)
                if value is None:
                    m['holes'][variant][str(seed)] = 'no metric' if result else status
            run_rows.append(row)
    for m in metrics.values():
        m['stats'], m['deltas'] = {}, {}
        base = _by_seed(m['values'][study.baseline], seeds)
        for variant in variants:
            values = _by_seed(m['values'][variant], seeds)
            m['stats'][variant] = t_interval(list(values.values()), CONFIDENCE) if values else None
            if variant != study.baseline:
                m['deltas'][variant] = paired_difference(base, values, CONFIDENCE)
    return dict(
        study=study.name,
        description=study.description,
        baseline=study.baseline,
        variants=variants,
        seeds=seeds,
        scale=study.scale,
        digits=study.digits,
        test=PAIRED_TEST,
        confidence=CONFIDENCE,
        data=dict(study.data),
        runs=run_rows,
        metrics=metrics)


def _by_seed(values: List, seeds: List[int]) -> Dict[int, float]:
    return {s: v for s, v in zip(seeds, values) if v is not None}


def _signed(value, digits: int) -> str:
    return '-' if value is None else f'{value:+.{digits}f}'


def _mean_std(stat, digits: int, signed: bool = False) -> str:
    if not stat:
        return '-'
    mean = _signed(stat['mean'], digits) if signed else fmt(stat['mean'], digits)
    return mean if stat['std'] is None else f'{mean} ± {stat["std"]:.{digits}f}'


def _seconds(rows: List[dict], variant: str, key: str) -> str:
    times = [r[key] for r in rows if r['variant'] == variant and key in r]
    return f'{np.mean(times) / 60:.1f}' if times else '-'


def markdown(summary: dict) -> str:
    d, base = summary['digits'], summary['baseline']
    others = [v for v in summary['variants'] if v != base]
    finished = sum(r['status'] == 'ok' for r in summary['runs'])
    pct = f'{summary["confidence"]:.0%}'
    lines = [f'# Study `{summary["study"]}`', '']
    if summary['description']:
        lines += [summary['description'].strip(), '']
    data = summary['data']
    lines += [
        f'Seeds {", ".join(map(str, summary["seeds"]))}; baseline `{base}`; {finished} of '
        f'{len(summary["runs"])} runs complete. Data: {data["type"]}, train '
        f'`{json.dumps(data["train"])}`, test `{json.dumps(data["test"])}`.', '',
        f'Δ = variant − baseline on the same seed; CI = {pct} confidence interval of the mean '
        f'Δ, {summary["test"]} (Student t with n−1 degrees of freedom over the n seeds both '
        'finished); established = the CI excludes 0.', ''
    ]
    for metric, m in summary['metrics'].items():
        scale = f' (×{summary["scale"]:g})' if summary['scale'] != 1 else ''
        lines += [f'## {metric}{scale}', '']
        rows = []
        for i, seed in enumerate(summary['seeds']):
            row = [seed]
            for v in summary['variants']:
                value = m['values'][v][i]
                row.append(fmt(value, d) if value is not None else m['holes'][v][str(seed)])
            base_value = m['values'][base][i]
            row += [
                _signed(m['values'][v][i] - base_value, d)
                if m['values'][v][i] is not None and base_value is not None else '-' for v in others
            ]
            rows.append(row)
        rows.append(['mean ± std'] + [_mean_std(m['stats'][v], d) for v in summary['variants']] +
                    [_mean_std(m['deltas'][v], d, signed=True) for v in others])
        lines += [
            markdown_table(['seed', *summary['variants'], *[f'Δ {v}' for v in others]], rows), ''
        ]
        rows = []
        for v in summary['variants']:
            delta = m['deltas'].get(v)
            row = [
                v, m['stats'][v]['n'] if m['stats'][v] else 0,
                _mean_std(m['stats'][v], d),
                _seconds(summary['runs'], v, 'train_s')
            ]
            if v == base:
                row += ['(baseline)', '', '', '']
            elif delta is None:
                row += ['no shared seed', '', '', '']
            else:
                ci = ('-' if delta['low'] is None else
                      f'[{_signed(delta["low"], d)}, {_signed(delta["high"], d)}]')
                row += [
                    f'{_signed(delta["mean"], d)} (n={delta["n"]})', ci,
                    fmt(delta['p_value'], 3), '-' if delta['low'] is None else
                    ('yes' if delta['excludes_zero'] else 'no')
                ]
            rows.append(row)
        lines += [
            markdown_table([
                'variant', 'runs', 'mean ± std', 'train min/run', f'Δ vs {base}',
                f'{pct} CI ({summary["test"]})', 'p', 'established'
            ], rows), ''
        ]
    holes = [r for r in summary['runs'] if r['status'] != 'ok']
    if holes:
        lines += ['Holes:', '']
        lines += [f'- {r["variant"]} seed {r["seed"]}: {r["status"]}: {r["error"]}' for r in holes]
        lines.append('')
    return '\n'.join(lines)


def plot(summary: dict, path: str) -> str:
    """Per metric: each variant's per-seed values (a seed's points joined across
    variants) with the mean and its t interval; beside it each variant's per-seed paired
    deltas with their mean and paired t interval, against 0."""
    from .plotting import plt, save_figure
    base, variants = summary['baseline'], summary['variants']
    others = [v for v in variants if v != base]
    n = len(summary['metrics'])
    cols = 2 if others else 1
    fig, axes = plt.subplots(n, cols, figsize=(4.5 * cols, 3.6 * n), squeeze=False)
    colours = plt.get_cmap('tab10')
    for row, (metric, m) in zip(axes, summary['metrics'].items()):
        ax = row[0]
        for i, seed in enumerate(summary['seeds']):
            # a hole (NaN) breaks the seed's line rather than bridging it
            ys = [np.nan if m['values'][v][i] is None else m['values'][v][i] for v in variants]
            ax.plot(
                range(len(variants)),
                ys,
                '-o',
                color=colours(i % 10),
                alpha=0.6,
                ms=4,
                label=f'seed {seed}')
        _errorbars(ax, [m['stats'][v] for v in variants], offset=0.15)
        ax.set_xticks(range(len(variants)), variants, rotation=20, ha='right', fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.legend(fontsize=6)
        if others:
            ax = row[1]
            for x, v in enumerate(others):
                delta = m['deltas'][v]
                if delta:
                    ax.plot(
                        [x] * len(delta['deltas']),
                        delta['deltas'],
                        'o',
                        alpha=0.6,
                        ms=4,
                        color='tab:blue')
            _errorbars(ax, [m['deltas'][v] for v in others], offset=0.15)
            ax.axhline(0, color='grey', lw=0.8, ls='--')
            ax.set_xticks(range(len(others)), others, rotation=20, ha='right', fontsize=8)
            ax.set_title(f'{metric}: paired Δ vs {base}', fontsize=9)
    fig.suptitle(
        f'{summary["study"]}: per seed; mean with {summary["confidence"]:.0%} t '
        'interval',
        fontsize=10)
    return save_figure(fig, path)


def _errorbars(ax, stats: List, offset: float) -> None:
    for x, s in enumerate(stats):
        if not s:
            continue
        err = None if s['low'] is None else [[s['mean'] - s['low']], [s['high'] - s['mean']]]
        ax.errorbar(x + offset, s['mean'], yerr=err, fmt='s', color='k', capsize=4, ms=5)
