"""Train a detector (mmdet config) or segmentor (mmseg config) with mmengine's Runner.

Arguments follow mmdet's ``tools/train.py``; ``--data-root`` and ``--device`` are added.
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import skd_det.engine  # noqa: F401  (registers CheckFiniteHook)
from skd_det.utils import (InputError, add_trust_checkpoint_argument, check_datasets,
                           check_launcher, load_config, setup_device, trust_checkpoints)
from skd_det.utils.checkpoint import (TrainingFault, check_checkpoint, last_complete_checkpoint,
                                      latest_checkpoint, load_checkpoint_file, resolve_resume)
from skd_det.utils.data_faults import guard_data_loading
from skd_det.utils.pretrained import check_pretrained
from skd_det.utils.safe_load import download_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (CUDA)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the latest '
        'checkpoint in the work dir')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--data-root', help='point every dataset and evaluator at this root')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log to tensorboard (<work_dir>/<timestamp>/vis_data)')
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], help='default: CUDA when available, else CPU')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings, key=value (e.g. randomness.seed=0)')
    parser.add_argument(
        '--check-finite-interval',
        type=int,
        default=1,
        metavar='N',
        help='stop when a loss or weight is NaN/inf, checked every N '
        'iterations (0: off; a CheckFiniteHook in the config wins)')
    parser.add_argument(
        '--skip-corrupt-images',
        action='store_true',
        help='log a warning naming a training image (or mmseg label map) that cannot be '
        'read or decoded and train on another sample, instead of stopping with one line '
        'naming it (tools/misc/check_dataset.py lists them all beforehand)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.data_root, args.work_dir)
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

    # --trust-checkpoint: the checkpoint this run starts from, before it is first read
    trust_checkpoints(args,
                      args.resume if args.resume != 'auto' else latest_checkpoint(cfg.work_dir),
                      cfg.get('load_from'))
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = resolve_resume(cfg.work_dir)  # None: nothing to resume, a new run
    elif args.resume is not None:
        _check_file(args.resume, '--resume')
        cfg.resume = True
        cfg.load_from = args.resume
    elif (cfg.get('load_from') or '').startswith(('http://', 'https://')):
        # downloaded (and hash-checked) now, not after the runner is built
        local = download_checkpoint(cfg.load_from)
        trust_checkpoints(args, local)
        _check_file(local, f'load_from {cfg.load_from}')
    elif cfg.get('load_from') and '://' not in cfg.load_from:
        _check_file(cfg.load_from, 'load_from')
    _safe_checkpoints(cfg, args.check_finite_interval)
    return cfg


def _check_file(path: str, what: str) -> None:
    try:
        load_checkpoint_file(path)
    except InputError as e:
        raise InputError(f'{what}: {e}') from None


def _safe_checkpoints(cfg: Config, finite_interval: int) -> None:
    """Checkpoints written atomically (:class:`AtomicLocalBackend`) and never with NaN
    weights (:class:`CheckFiniteHook`), unless the config chose otherwise."""
    if finite_interval < 0:
        raise InputError(f'--check-finite-interval {finite_interval}: must be >= 0')
    ckpt_hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if ckpt_hook is not None and not (ckpt_hook.get('backend_args')
                                      or ckpt_hook.get('file_client_args')
                                      or '://' in str(ckpt_hook.get('out_dir', ''))):
        ckpt_hook['backend_args'] = dict(backend='local_atomic')
    hooks = cfg.get('custom_hooks') or []
    if finite_interval and not any(h.get('type') == 'CheckFiniteHook' for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='CheckFiniteHook', interval=finite_interval)]


def main():
    args = parse_args()
    try:
        check_launcher(args.launcher)
        cfg = build_cfg(args)
        setup_device(cfg, args.device, args.amp)
        check_datasets(cfg, ('train_dataloader', 'val_dataloader'))
    except InputError as e:
        sys.exit(f'error: {e}')
    try:
        runner = Runner.from_cfg(cfg)  # builds a frozen teacher: its checkpoint may be refused
        # a missing or ill-fitting Pretrained file, before training (mmengine would stop on a
        # missing one with a traceback and only warn about one that does not fit)
        check_pretrained(runner.model)
    except InputError as e:
        sys.exit(f'error: {e}')
    try:
        if cfg.resume and cfg.load_from:  # load_from alone may be a partial init
            check_checkpoint(cfg.load_from, runner.model)
    except InputError as e:
        sys.exit(f'error: --resume: {e}')
    try:
        # a corrupt image met mid-run: one line naming it, or a logged skip (after the config
        # dump, which keeps the config's own loaders)
        guard_data_loading(runner, args.skip_corrupt_images)
        runner.train()
    except TrainingFault as e:
        last = last_complete_checkpoint(cfg.work_dir)
        msg = (f'training stopped: {e}; the last complete checkpoint is '
               f'{last or "none (none was written yet)"}')
        runner.logger.error(msg)
        sys.exit(f'error: {msg}')


if __name__ == '__main__':
    main()
