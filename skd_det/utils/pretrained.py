# Copyright (c) skd_det contributors.
"""Pretrained backbone weights: key-order conversion between layouts, and the check that a
model's ``init_cfg=dict(type='Pretrained', ...)`` files fit the modules that load them.

mmengine's ``Pretrained`` init loads non-strictly: a file of another layout initialises nothing
and training goes on from scratch with a warning in the log. :func:`check_pretrained` says so
in one line before anything trains.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterator, List, Mapping, Sequence, Tuple

import torch
import torch.nn as nn

from .config import InputError
from .safe_load import UnsafeCheckpointError, load_checkpoint

__all__ = ['CACHE', 'check_pretrained', 'convert_by_order', 'pretrained_inits']

#: the project's cache root (``SKD_DET_CACHE``, default ``~/.cache/skd_det``)
CACHE = os.environ.get('SKD_DET_CACHE', osp.join(osp.expanduser('~'), '.cache', 'skd_det'))
#: the cache folder of each weights tool, and what to run when its file is missing or stale
_TOOLS = {
    'imagenet': 'python tools/misc/imagenet_weights.py',
    'pretrained': 'python tools/misc/pretrain_backbone.py (see its docstring for the options)',
}


def convert_by_order(source: Mapping[str, torch.Tensor],
                     target: Sequence[Tuple[str, torch.Size]],
                     what: str = 'weights') -> 'OrderedDict[str, torch.Tensor]':
    """Rename ``source``'s tensors, in order, to ``target``'s keys: the n-th entry of the
    source becomes the n-th key of the target (two implementations of one architecture list
    their tensors in the same order, each under its own names).

    ``target`` lists the keys and shapes of the layout, e.g. ``[(k, v.shape) for k, v in
    module.state_dict().items()]``; it may be shorter than the source (a backbone without the
    source's last layers): the rest of the source is dropped. Every shape must match, else a
    ValueError names the first pair that does not.
    """
    items = list(source.items())
    if len(items) < len(target):
        raise ValueError(f'{what}: {len(items)} tensors, the target layout has {len(target)}')
    out = OrderedDict()
    for index, ((src_key, tensor), (key, shape)) in enumerate(zip(items, target)):
        if tuple(tensor.shape) != tuple(shape):
            raise ValueError(f'{what}: tensor {index} {src_key} {tuple(tensor.shape)} does not '
                             f'fit {key} {tuple(shape)}: not the same architecture, or not in '
                             'the same order')
        out[key] = tensor.clone()
    return out


def _pretrained_cfgs(init_cfg) -> Iterator[dict]:
    for cfg in init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]:
        if isinstance(cfg, Mapping) and cfg.get('type') == 'Pretrained' and cfg.get('checkpoint'):
            yield cfg


def pretrained_inits(model: nn.Module) -> List[Tuple[str, nn.Module, dict]]:
    """(module name, module, its ``Pretrained`` init_cfg) of every module of ``model`` that
    loads a local file (URLs and ``open-mmlab://`` names are mmengine's to fetch)."""
    found = []
    for name, module in model.named_modules():
        for cfg in _pretrained_cfgs(getattr(module, 'init_cfg', None)):
            if '://' not in str(cfg['checkpoint']):
                found.append((name, module, cfg))
    return found


def _hint(path: str) -> str:
    """What to run for a file of the cache's tool folders, else what to do."""
    rel = osp.relpath(osp.abspath(path), osp.abspath(CACHE))
    tool = _TOOLS.get(rel.split(os.sep)[0]) if not rel.startswith('..') else None
    return f'run `{tool}` to write it' if tool else 'point init_cfg.checkpoint at its weights'


def _load_state(path: str, cfg: dict, where: str, hint: str) -> Dict[str, torch.Tensor]:
    """The file's state dict as mmengine's ``Pretrained`` init reads it."""
    try:
        ckpt = load_checkpoint(path)  # as mmengine's Pretrained init will: without running code
    except UnsafeCheckpointError:
        raise
    except Exception as e:  # a damaged or foreign file: torch says why
        first = str(e).splitlines()[0] if str(e) else ''
        raise InputError(f'{where}: cannot be read ({type(e).__name__}: {first}; '
                         f'{hint})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise InputError(f'{where}: holds no state dict ({hint})')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    prefix = cfg.get('prefix')
    if prefix:  # mmengine's Pretrained(prefix=...): the entries under it, prefix removed
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state


def check_pretrained(model: nn.Module) -> None:
    """Every local ``Pretrained`` file of ``model`` exists and fits its module: no entry of the
    module missing from it, none of another shape (entries the module lacks, e.g. an ImageNet
    classifier, are fine, as for mmengine). Otherwise an :class:`InputError`, one line naming
    the module, the file and what to run."""
    for name, module, cfg in pretrained_inits(model):
        path = osp.expanduser(str(cfg['checkpoint']))
        where = f'{name or type(module).__name__}.init_cfg: Pretrained checkpoint {path}'
        # a module that knows where its weights come from says so (EfficientNetLite: which
        # variants have ImageNet weights), else the cache folder names the tool
        hint = getattr(module, 'weights_hint', None) or _hint(path)
        if not osp.isfile(path):
            raise InputError(f'{where}: no such file ({hint})')
        state = _load_state(path, cfg, where, hint)
        own = module.state_dict()
        missing = [k for k in own if k not in state]
        wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
        if missing:
            raise InputError(f'{where}: does not fit {type(module).__name__}: {len(missing)} of '
                             f'its {len(own)} entries missing, e.g. {missing[0]} (the file has '
                             f'e.g. {next(iter(state), "nothing")}; {hint})')
        if wrong:
            k = wrong[0]
            raise InputError(f'{where}: does not fit {type(module).__name__}: {len(wrong)} '
                             f'entries of another shape, e.g. {k} {tuple(state[k].shape)} '
                             f'(the module has {tuple(own[k].shape)}; {hint})')
