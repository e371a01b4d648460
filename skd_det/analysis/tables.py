# Copyright (c) skd_det contributors.
"""Markdown tables of the analysis tools."""
from typing import Optional, Sequence

MiB = 1024**2


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return '| ' + ' | '.join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths))) + ' |'

    rule = '|' + '|'.join(':' + '-' * (w + 1) if i == 0 else '-' * (w + 1) + ':'
                          for i, w in enumerate(widths)) + '|'
    return '\n'.join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def fmt(value: Optional[float], digits: int = 3) -> str:
    return '-' if value is None or value != value else f'{value:.{digits}f}'


def with_ratio(value: Optional[float], ratio: Optional[float], digits: int = 3) -> str:
    """``value (x1.00)``; the ratio is left out where it is undefined (a zero baseline)."""
    if value is None:
        return 'n/a'
    return f'{value:.{digits}f}' + (f' (x{ratio:.2f})' if ratio is not None else ' (-)')


def benchmark_table(result: dict) -> str:
    """Table of :func:`skd_det.analysis.benchmark.benchmark_train` /
    ``benchmark_inference`` results, each figure with its ratio to the first config."""
    train = result['kind'] == 'train'
    headers = ['config', 's/iter (median)', 'IQR', 'min-max']
    if train:
        headers += [
            'peak mem (MiB)', 'params student (M)', 'params train-only (M)', 'GFLOPs student',
            'GFLOPs train-only'
        ]
    rows = []
    for e in result['configs']:
        t, r = e['time'], e['ratios']
        row = [
            e['label'],
            with_ratio(t['median'], r['time'], 4), f'{t["q25"]:.4f}-{t["q75"]:.4f}',
            f'{t["min"]:.4f}-{t["max"]:.4f}'
        ]
        if train:
            peak = e['memory']['peak']
            flops = e['flops']
            row += [
                with_ratio(peak / MiB if peak is not None else None, r['peak_memory'], 1),
                with_ratio(e['params']['student'] / 1e6, r['params_student']),
                with_ratio(e['params']['training_only'] / 1e6, r['params_training_only']),
                with_ratio(flops['student'] / 1e9 if flops['student'] is not None else None,
                           r['flops_student']),
                with_ratio(
                    flops['training_only'] / 1e9 if flops['training_only'] is not None else None,
                    r['flops_training_only']),
            ]
        rows.append(row)
    h, w = result['img_size']
    head = (f'{result["kind"]} benchmark: device {result["device"]} ({result["threads"]} '
            f'threads), batch {result["batch_size"]}x3x{h}x{w}, {result["iters"]} timed '
            f'iterations after {result["warmup"]} warm-up, interleaved; (xR) = ratio to the '
            'first config')
    if train:
        head += (f'\npeak mem = parameters, buffers, gradients and optimizer state + the median '
                 f'step peak of {result["mem_iters"]} steps; FLOPs per image (1 MAC = 1 FLOP): '
                 'student = its inference forward, train-only = training forward of the model '
                 "minus the student's own")
    return head + '\n\n' + markdown_table(headers, rows)
