"""Training cost of configs relative to the first: seconds/iteration, peak memory, parameters
and FLOPs of the student and of the training-only part.

The models are built in one process and run interleaved on identical synthetic batches, so
machine noise hits all of them alike. Example (FRSKD vs its baseline)::

    python tools/analysis/benchmark_train.py \\
        configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py \\
        configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py --iters 20 --warmup 3
"""
import argparse
import json
import sys

import torch
from mmengine.config import DictAction

from skd_det.analysis.benchmark import benchmark_train
from skd_det.analysis.runtime import quiet_logs
from skd_det.analysis.tables import benchmark_table
from skd_det.utils import InputError


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark training steps of configs')
    parser.add_argument('configs', nargs='+', help='config files; ratios are to the first')
    parser.add_argument('--iters', type=int, default=20, help='timed iterations per config')
    parser.add_argument('--warmup', type=int, default=3, help='untimed first iterations')
    parser.add_argument(
        '--mem-iters',
        type=int,
        default=3,
        help='extra steps per config measuring peak memory (median)')
    parser.add_argument('--batch-size', type=int, help="default: the configs' train batch size")
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="default: the size the configs' train pipelines fix")
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], help='default: CUDA when available, else CPU')
    parser.add_argument(
        '--threads',
        type=int,
        help='CPU threads of torch (default: torch\'s choice); 1 gives steadier '
        'times on a machine shared with other jobs')
    parser.add_argument('--seed', type=int, default=0, help='seed of weights and batches')
    parser.add_argument('--out', help='write all numbers (per-iteration times too) to JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet_logs()
    try:
        result = benchmark_train(args.configs, args.iters, args.warmup, args.batch_size,
                                 args.img_size, args.device, args.cfg_options, args.seed,
                                 args.mem_iters)
    except InputError as e:
        sys.exit(f'error: {e}')
    print(benchmark_table(result))
    for entry in result['configs']:
        for note in entry['notes']:
            print(f'note: {entry["label"]}: {note}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
