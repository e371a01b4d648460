"""Motion-blur robustness benchmark of a detector or segmentor checkpoint.

    python tools/analysis/test_robustness.py CONFIG CHECKPOINT --out DIR \
        [--corruptions motion_blur [linear_motion_blur ic_motion_blur]] \
        [--severities 0 1 2 3 4 5] [--metric KEY] [--data-root DIR] [--device cpu|cuda] \
        [--cfg-options ...]

Evaluates the test set clean (severity 0) and corrupted at each severity 1..5 of each
corruption: ``MotionBlurCorruption`` (skd_det.datasets.transforms) is inserted right after
``LoadImageFromFile`` in every test pipeline, so each image is blurred at its original size the
same way in every run. Writes to DIR

- ``robustness.json``: every score, mPC, rPC (Michaelis et al. 2019), the metric key, and all
  metrics of every run;
- ``robustness.md``: AP (or mIoU) per severity, mPC and rPC;
- ``robustness.png``: the score against severity.

The score is ``--metric`` or the first of pascal_voc/mAP, coco/bbox_mAP, mIoU the test
reports. Corruptions: 'motion_blur' (camera-shake trajectory kernels), 'linear_motion_blur',
'ic_motion_blur' (imagecorruptions' motion_blur; needs that package).
"""
import argparse
import copy
import json
import numbers
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from skd_det.analysis.robustness import plot_robustness, robustness_summary, robustness_table
from skd_det.datasets.transforms.motion_blur import CORRUPTIONS
from skd_det.utils import (InputError, add_trust_checkpoint_argument, check_datasets, load_config,
                           setup_device, task_of, trust_checkpoints)
from skd_det.utils.checkpoint import check_checkpoint, load_checkpoint_file
from skd_det.utils.config import iter_datasets

METRIC_KEYS = ('pascal_voc/mAP', 'coco/bbox_mAP', 'mIoU')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Motion-blur robustness benchmark')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--out', required=True, help='folder for the JSON, table and plot')
    parser.add_argument(
        '--corruptions',
        nargs='+',
        default=['motion_blur'],
        help=f'corruptions among {", ".join(CORRUPTIONS)}')
    parser.add_argument(
        '--severities',
        nargs='+',
        type=int,
        default=[0, 1, 2, 3, 4, 5],
        help='0 = clean, 1..5 = corrupted')
    parser.add_argument('--metric', help='metric key to report (default: auto)')
    parser.add_argument('--seed', type=int, default=0, help='seed mixed into every kernel')
    parser.add_argument('--data-root', help='point every dataset and evaluator at this root')
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], help='default: CUDA when available, else CPU')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings, key=value')
    return parser.parse_args(argv)


def check_args(args) -> None:
    unknown = [c for c in args.corruptions if c not in CORRUPTIONS]
    if unknown:
        raise InputError(f'--corruptions: unknown {unknown}; known: {", ".join(CORRUPTIONS)}')
    bad = [s for s in args.severities if not 0 <= s <= 5]
    if bad:
        raise InputError(f'--severities: {bad} outside 0..5 (0 = clean)')
    if not any(s > 0 for s in args.severities):
        raise InputError('--severities: give at least one of 1..5')
    load_checkpoint_file(args.checkpoint)


def corrupted_config(cfg, corruption: str, severity: int, seed: int):
    """A copy of ``cfg`` whose test pipelines blur after loading the image."""
    cfg = copy.deepcopy(cfg)
    for path, ds in iter_datasets(cfg.test_dataloader, 'test_dataloader'):
        pipeline = ds.get('pipeline', [])
        loads = [
            i for i, t in enumerate(pipeline)
            if str(t.get('type', '')).split('.')[-1] == 'LoadImageFromFile'
        ]
        if not loads:
            raise InputError(f'{path}.pipeline has no LoadImageFromFile to blur after')
        pipeline.insert(
            loads[0] + 1,
            dict(type='MotionBlurCorruption', corruption=corruption, severity=severity, seed=seed))
    return cfg


def pick_metric(metrics: dict, key) -> str:
    if key is not None:
        if key not in metrics:
            raise InputError(f'--metric {key}: the test reports {sorted(metrics)}')
        return key
    for k in METRIC_KEYS:
        if k in metrics:
            return k
    raise InputError(f'no known metric among {sorted(metrics)}: pass --metric')


def evaluate(cfg, work_dir: str) -> dict:
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    runner = Runner.from_cfg(cfg)
    check_checkpoint(cfg.load_from, runner.model)  # mmengine would keep unmatched weights
    # mmseg reports numpy scalars, mmdet python floats
    return {
        k: float(v)
        for k, v in runner.test().items()
        if isinstance(v, numbers.Real) or getattr(v, 'ndim', None) == 0
    }


def main(argv=None):
    args = parse_args(argv)
    trust_checkpoints(args, args.checkpoint)
    try:
        check_args(args)
        cfg = load_config(args.config, 'none', args.cfg_options, args.data_root,
                          osp.join(args.out, 'runs'))
        cfg.load_from = args.checkpoint
        setup_device(cfg, args.device, amp=False)
        check_datasets(cfg, ('test_dataloader', ))
        task = task_of(cfg)
    except InputError as e:
        sys.exit(f'error: {e}')
    os.makedirs(args.out, exist_ok=True)
    runs, clean = {}, None
    try:
        if 0 in args.severities:
            runs['clean'] = evaluate(cfg, osp.join(args.out, 'runs', 'clean'))
            key = pick_metric(runs['clean'], args.metric)
        corrupted = {}
        for corruption in args.corruptions:
            corrupted[corruption] = {}
            for severity in sorted(s for s in set(args.severities) if s > 0):
                name = f'{corruption}@{severity}'
                runs[name] = evaluate(
                    corrupted_config(cfg, corruption, severity, args.seed),
                    osp.join(args.out, 'runs', name))
                key = pick_metric(runs[name], args.metric)
                corrupted[corruption][severity] = runs[name][key]
    except InputError as e:
        sys.exit(f'error: {e}')
    if 'clean' in runs:
        clean = runs['clean'][key]
    summary = robustness_summary(clean, corrupted)
    scale = 1.0 if task == 'seg' else 100.0
    label = key.split('/')[-1]
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        metric=key,
        seed=args.seed,
        **summary,
        runs=runs)
    with open(osp.join(args.out, 'robustness.json'), 'w') as f:
        json.dump(result, f, indent=2)
    table = robustness_table(summary, label, scale)
    with open(osp.join(args.out, 'robustness.md'), 'w') as f:
        f.write(f'# Robustness of {osp.basename(args.config)}\n\n{table}')
    plot_robustness(summary, osp.join(args.out, 'robustness.png'),
                    osp.splitext(osp.basename(args.config))[0], label, scale)
    print(table)


if __name__ == '__main__':
    main()
