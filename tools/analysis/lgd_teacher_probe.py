"""Does a trained LGD model's label-guided teacher tell its objects apart? Runs the teacher on
test batches (``eval_teacher``: the test images' ground truth through the student's head) and
prints, averaged over the images, how alike the label embeddings of an image's objects are and
how much attention each object puts on its own label (against uniform attention); see
``skd_det.analysis.lgd_probe``. The teacher's mAP itself::

    python tools/test.py CONFIG CKPT --cfg-options model.eval_teacher=True

Usage::

    python tools/analysis/lgd_teacher_probe.py CONFIG CKPT [--data-root DIR] [--batches 10]
"""
import argparse
import json
import sys

import numpy as np
from mmengine.runner import Runner

from skd_det.analysis.lgd_probe import relation_stats
from skd_det.utils import (InputError, add_trust_checkpoint_argument, check_datasets, load_config,
                           trust_checkpoints)
from skd_det.utils.checkpoint import load_checkpoint_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Probe a trained LGD model's teacher")
    parser.add_argument('config', help='the LGD config the checkpoint was trained with')
    parser.add_argument('checkpoint')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--data-root', help='the test data root (as tools/test.py)')
    parser.add_argument('--batches', type=int, default=10, help='test batches to probe')
    parser.add_argument('--work-dir', default='work_dirs/lgd_teacher_probe')
    return parser.parse_args(argv)


def probe(runner: Runner, batches: int) -> dict:
    model = runner.model
    adapter = getattr(getattr(model, 'teacher', None), 'relation_adapter', None)
    if adapter is None:
        raise InputError(f'{type(model).__name__} has no LGD teacher (model.teacher.'
                         'relation_adapter): the config is not an LGD config')
    stats = dict(label_cosine=[], self_attention=[], uniform=[])

    def record(module, inputs, output):
        for key, values in relation_stats(module, *inputs).items():
            stats[key].extend(values)

    handle = adapter.register_forward_hook(record)
    model.eval_teacher = True
    model.eval()
    try:
        for i, data in enumerate(runner.test_dataloader):
            if i == batches:
                break
            model.test_step(data)
    finally:
        handle.remove()
    return {k: float(np.mean(v)) for k, v in stats.items()} | dict(images=len(stats['uniform']))


def main(argv=None):
    args = parse_args(argv)
    trust_checkpoints(args, args.checkpoint)
    try:
        if args.batches < 1:
            raise InputError(f'--batches must be at least 1, got {args.batches}')
        cfg = load_config(args.config, data_root=args.data_root, work_dir=args.work_dir)
        check_datasets(cfg, ('test_dataloader', ))
        load_checkpoint_file(args.checkpoint)
        cfg.load_from = args.checkpoint
        runner = Runner.from_cfg(cfg)
        runner.load_or_resume()
        result = probe(runner, args.batches)
    except InputError as e:
        sys.exit(f'error: {e}')
    print(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
