# Copyright (c) skd_det contributors.
"""Reading mmengine's JSON logs of several runs: final metrics, loss curves, grouping runs
(e.g. seeds of one method) and mean +- std tables.

A work dir holds one timestamped folder per launch (a resumed run adds one):
``<ts>/vis_data/scalars.json`` (LocalVisBackend) or ``<ts>/<ts>.json`` (LoggerHook), JSON
lines. Training lines carry ``lr``; validation/test lines carry the metrics (``prefix/name``
keys) next to ``data_time``/``time``/``step``.
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

NOT_METRICS = {'data_time', 'time', 'step', 'iter', 'epoch', 'memory', 'lr', 'eta', 'mode'}
DEFAULT_GROUP_REGEX = r'^(.*?)(?:[_-]seed[_-]?\d+)?$'


def log_files(work_dir: str) -> List[str]:
    """The JSON logs of a work dir, oldest launch first (timestamp folder names sort in
    time); a launch's ``vis_data/scalars.json`` is preferred over its ``<ts>.json`` copy."""
    files = []
    for run in sorted(glob.glob(osp.join(work_dir, '*', ''))):
        scalars = osp.join(run, 'vis_data', 'scalars.json')
        files += [scalars] if osp.isfile(scalars) else sorted(glob.glob(osp.join(run, '*.json')))
    return files


def read_records(work_dir: str) -> List[dict]:
    records = []
    for path in log_files(work_dir):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash
    return records


def is_metric_record(record: dict) -> bool:
    return 'lr' not in record and not any(k.startswith('loss')
                                          for k in record) and any(k not in NOT_METRICS
                                                                   for k in record)


def final_metrics(records: Sequence[dict]) -> Dict[str, float]:
    """Metrics of the last validation/test record."""
    for record in reversed(records):
        if is_metric_record(record):
            return {
                k: v
                for k, v in record.items() if k not in NOT_METRICS and isinstance(v, (int, float))
            }
    return {}


def loss_curve(records: Sequence[dict], key: str = 'loss') -> Tuple[np.ndarray, np.ndarray]:
    """(iterations, values) of a training scalar; a resumed launch overrides the
    iterations it repeats."""
    points = {}
    for r in records:
        if 'lr' in r and key in r:
            points[r.get('iter', r.get('step'))] = r[key]
    its = sorted(points)
    return np.array(its), np.array([points[i] for i in its])


def group_name(run: str, regex: str = DEFAULT_GROUP_REGEX) -> str:
    """Group of a run name: the regex's first capture group (its whole match without one);
    a name it does not match is a group of its own."""
    m = re.search(regex, run)
    if not m:
        return run
    return (m.group(1) if m.re.groups else m.group(0)) or run


def mean_std_rows(runs: Dict[str, Dict[str, float]],
                  groups: Dict[str, str],
                  metrics: Optional[Sequence[str]] = None,
                  scale: float = 1.,
                  digits: int = 2) -> Tuple[List[str], List[list], dict]:
    """Rows ``group, n, metric...`` with ``mean ± std`` cells (sample std, ddof=1; a lone
    run shows its value). Returns headers, rows and the numbers."""
    if metrics is None:
        metrics = list(dict.fromkeys(k for m in runs.values() for k in m))
    numbers, rows = {}, []
    for group in dict.fromkeys(groups.values()):
        members = [r for r in runs if groups[r] == group]
        row = [group, len(members)]
        numbers[group] = dict(runs=members)
        for metric in metrics:
            values = np.array([runs[r][metric] for r in members if metric in runs[r]],
                              dtype=np.float64) * scale
            if values.size == 0:
                row.append('-')
                continue
            mean = float(values.mean())
            std = float(values.std(ddof=1)) if values.size > 1 else None
            numbers[group][metric] = dict(
                mean=mean, std=std, n=int(values.size), values=values.tolist())
            row.append(f'{mean:.{digits}f}' if std is
                       None else f'{mean:.{digits}f} ± {std:.{digits}f}')
        rows.append(row)
    return ['group', 'runs'] + list(metrics), rows, numbers
