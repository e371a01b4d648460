"""Test (and evaluate) a detector or segmentor checkpoint with mmengine's Runner.

Arguments follow mmdet's ``tools/test.py``; ``--data-root`` and ``--device`` are added. The
metrics are printed at the end and written to the work dir's JSON log.
"""
import argparse
import os
import sys
from copy import deepcopy

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

import skd_det.evaluation  # noqa: F401  (any config may add the calibration metrics)
from skd_det.utils import (InputError, add_trust_checkpoint_argument, check_datasets,
                           check_launcher, load_config, setup_device, trust_checkpoints)
from skd_det.utils.checkpoint import check_model_keys, load_checkpoint_file


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a detector or segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions under this dir '
        '(inside the work dir\'s timestamp folder)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (flip)')
    parser.add_argument('--data-root', help='point every dataset and evaluator at this root')
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], help='default: CUDA when available, else CPU')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings, key=value')
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


def _enable_visualization(cfg: Config, args) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise InputError('--show/--show-dir: the config has no default_hooks.visualization')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        if cfg.default_scope == 'mmdet':
            hook['test_out_dir'] = args.show_dir
        else:
            cfg.visualizer['save_dir'] = args.show_dir


def _det_tta(cfg: Config) -> None:
    """mmdet's default flip TTA when the config defines none."""
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    if 'tta_pipeline' not in cfg:
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        cfg.tta_pipeline = deepcopy(test_data_cfg.pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.),
                         dict(type='RandomFlip', prob=0.)],
                        [
                            dict(
                                type='PackDetInputs',
                                meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                           'scale_factor', 'flip', 'flip_direction'))
                        ]])


def build_cfg(args) -> Config:
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.data_root, args.work_dir)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise InputError(f'--out {args.out}: the dump file must end with .pkl')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        _enable_visualization(cfg, args)
    if args.tta:
        if cfg.default_scope == 'mmdet':
            _det_tta(cfg)
        elif 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise InputError('--tta: the config defines no tta_model/tta_pipeline '
                             "(mmseg's dataset bases define them)")
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    return cfg


def main():
    args = parse_args()
    trust_checkpoints(args, args.checkpoint)
    try:
        check_launcher(args.launcher)
        cfg = build_cfg(args)
        setup_device(cfg, args.device, amp=False)
        check_datasets(cfg, ('test_dataloader', ))
        _, state = load_checkpoint_file(args.checkpoint)
    except InputError as e:
        sys.exit(f'error: {e}')
    runner = Runner.from_cfg(cfg)
    try:
        check_model_keys(runner.model, state, args.checkpoint)
    except InputError as e:
        sys.exit(f'error: {e}')
    if args.out is not None:
        if cfg.default_scope == 'mmdet':
            from mmdet.evaluation import DumpDetResults as DumpResults
        else:
            from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print('\n'.join(['Final metrics:'] + [f'  {k}: {v}' for k, v in metrics.items()]))


if __name__ == '__main__':
    main()
