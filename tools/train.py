"""Train a detector (mmdet config) or segmentor (mmseg config) with mmengine's Runner.

Arguments follow mmdet's ``tools/train.py``; ``--data-root`` and ``--device`` are added.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from skd_det.utils import (InputError, allow_full_checkpoint_load, check_datasets,
                           check_launcher, load_config, setup_device)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or without a path from the latest '
                        'checkpoint in the work dir')
    parser.add_argument('--data-root', help='point every dataset and evaluator at this root')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log to tensorboard (<work_dir>/<timestamp>/vis_data)')
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        help='default: CUDA when available, else CPU')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value (e.g. randomness.seed=0)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.data_root,
                      args.work_dir)
    if args.tensorboard:
        backends = cfg.visualizer.setdefault('vis_backends', [])
        if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
            backends.append(dict(type='TensorboardVisBackend'))

    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise InputError('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise InputError(f'--resume: checkpoint {args.resume} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume

    return cfg


def main():
    args = parse_args()
    allow_full_checkpoint_load()
    try:
        check_launcher(args.launcher)
        cfg = build_cfg(args)
        setup_device(cfg, args.device, args.amp)
        check_datasets(cfg, ('train_dataloader', 'val_dataloader'))
    except InputError as e:
        sys.exit(f'error: {e}')
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
