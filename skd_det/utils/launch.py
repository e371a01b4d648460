"""Run-time set-up shared by the train/test tools: the checkpoint trust opt-in, launcher and
device."""
import argparse
import os
from typing import Optional

import torch
from mmengine.config import Config

from .config import InputError
from .safe_load import trust_checkpoint

_TORCHRUN_VARS = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


def add_trust_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-checkpoint``: the opt-in for a legacy checkpoint that a weights-only load
    refuses (see :mod:`skd_det.utils.safe_load`)."""
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='load the checkpoint this command names in full, running any code its pickle '
        'names: only for a legacy file whose source you trust (default: weights-only; a file '
        'that needs more is refused)')


def trust_checkpoints(args: argparse.Namespace, *paths: Optional[str]) -> None:
    """Trust ``paths`` (the command's checkpoints) when ``--trust-checkpoint`` was given."""
    if getattr(args, 'trust_checkpoint', False):
        for path in paths:
            if path:
                trust_checkpoint(path)


def check_launcher(launcher: str) -> None:
    if launcher == 'pytorch':
        missing = [v for v in _TORCHRUN_VARS if v not in os.environ]
        if missing:
            raise InputError(
                f'--launcher pytorch needs the variables torchrun sets ({", ".join(missing)} '
                'missing). Start through torchrun: `bash tools/dist_train.sh CONFIG NUM_GPUS` '
                'or `torchrun --nproc_per_node N tools/train.py CONFIG --launcher pytorch`; '
                'for one process drop --launcher.')
    elif launcher == 'slurm' and 'SLURM_PROCID' not in os.environ:
        raise InputError('--launcher slurm must run under srun (see tools/slurm_train.sh)')


def setup_device(cfg: Config, device: Optional[str], amp: bool) -> None:
    """Resolve where the run goes and make CPU-only machines work with distributed launchers.

    Raises:
        InputError: CUDA (``--device cuda``, ``--amp`` or an nccl backend) asked for on a
            machine without a usable GPU.
    """
    if device == 'cpu':
        # mmengine places the model with get_device(): hide the GPUs before CUDA initialises
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    has_cuda = device != 'cpu' and torch.cuda.is_available()
    if device == 'cuda' and not has_cuda:
        raise InputError('--device cuda: no CUDA GPU is visible here '
                         f'(torch {torch.__version__}, CUDA_VISIBLE_DEVICES='
                         f'{os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")}); '
                         'use --device cpu or run on a GPU machine')
    if amp and not has_cuda:
        raise InputError('--amp needs a CUDA GPU (mmengine AmpOptimWrapper); none is in use '
                         'here: drop --amp for CPU runs')
    on_cpu = not has_cuda
    # ConfigDict.setdefault stores a copy of a new value: assign, then read back
    if 'dist_cfg' not in cfg.get('env_cfg', {}):
        cfg.merge_from_dict({'env_cfg.dist_cfg': {}})
    dist_cfg = cfg.env_cfg.dist_cfg
    if on_cpu and cfg.get('launcher', 'none') != 'none':
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'  # nccl is GPU-only
        # the Runner passes device_ids=[LOCAL_RANK], which DDP rejects for a CPU module; a
        # value in the wrapper config wins over the Runner's default
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    if on_cpu and cfg.get('launcher') == 'pytorch' and not torch.distributed.is_initialized():
        # mmengine's init_dist calls torch.cuda.set_device, which fails without a GPU; the
        # Runner skips init_dist when the process group already exists.
        torch.distributed.init_process_group(backend=dist_cfg['backend'])
