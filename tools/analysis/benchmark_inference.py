"""Inference time of a self-distillation wrapper against its exported student (or of one
model alone), on the same synthetic inputs, checking that their predictions match. The
wrapper predicts through its student, so the time ratio should be 1.00::

    python tools/analysis/benchmark_inference.py CONFIG CHECKPOINT \\
        --exported-config student.py --exported-checkpoint student.pth
"""
import argparse
import json
import sys

import torch

from skd_det.analysis.benchmark import benchmark_inference
from skd_det.analysis.runtime import quiet_logs
from skd_det.analysis.tables import benchmark_table
from skd_det.utils import InputError, add_trust_checkpoint_argument, trust_checkpoints


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark inference of a model')
    parser.add_argument('config', help='config of the (wrapper) model')
    parser.add_argument('checkpoint', help='its checkpoint')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--exported-config', help='config of the exported student')
    parser.add_argument('--exported-checkpoint', help='checkpoint of the exported student')
    parser.add_argument('--iters', type=int, default=20, help='timed iterations per model')
    parser.add_argument('--warmup', type=int, default=3, help='untimed first iterations')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help="default: the size the config's test pipeline resizes to")
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], help='default: CUDA when available, else CPU')
    parser.add_argument(
        '--threads',
        type=int,
        help='CPU threads of torch (default: torch\'s choice); 1 gives steadier '
        'times on a machine shared with other jobs')
    parser.add_argument('--seed', type=int, default=0, help='seed of the synthetic inputs')
    parser.add_argument('--out', help='write all numbers to JSON')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    trust_checkpoints(args, args.checkpoint, args.exported_checkpoint)
    quiet_logs()
    models = [(args.config, args.checkpoint)]
    try:
        if bool(args.exported_config) != bool(args.exported_checkpoint):
            raise InputError('--exported-config and --exported-checkpoint go together')
        if args.exported_config:
            models.append((args.exported_config, args.exported_checkpoint))
        result = benchmark_inference(models, args.iters, args.warmup, args.batch_size,
                                     args.img_size, args.device, args.seed)
    except InputError as e:
        sys.exit(f'error: {e}')
    print(benchmark_table(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    if len(models) > 1:
        ratio = result['configs'][1]['ratios']['time']
        print(f'\ntime ratio exported / wrapper: {ratio:.3f}')
        if not result['outputs_match']:
            sys.exit('error: the exported model predicts differently from the wrapper '
                     f'(max |difference| {result["max_abs_diff"]:.3g})')
        print(f'outputs match (max |difference| {result["max_abs_diff"]:.3g})')


if __name__ == '__main__':
    main()
