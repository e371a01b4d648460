# Copyright (c) skd_det contributors.
"""Configs, models and synthetic batches for the analysis tools, for mmdet and mmseg alike.

The task of a config comes from its ``default_scope``; mmdet or mmseg is imported only when a
config of that task is used, so detection-only installs work without mmseg and vice versa.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

from skd_det.utils import InputError, task_of
from skd_det.utils.checkpoint import check_model_keys, load_checkpoint_file
from skd_det.utils.component_args import check_component_args
from skd_det.utils.config import check_cfg_options, iter_datasets

_registered = set()


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    if not osp.isfile(path):
        raise InputError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    task_of(cfg)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_component_args(cfg)
    return cfg


def registries(cfg: Config):
    """``(MODELS, DATASETS)`` of the config's task, with the task's modules and the config's
    ``custom_imports`` registered."""
    task = task_of(cfg)
    if task not in _registered:
        if task == 'det':
            from mmdet.utils import register_all_modules
        else:
            from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        _registered.add(task)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if task == 'det':
        from mmdet.registry import DATASETS, MODELS
    else:
        from mmseg.registry import DATASETS, MODELS
    return MODELS, DATASETS


def scope(cfg: Config):
    """Context in which the config's registry names resolve (needed while models are built
    and run when configs of both tasks share a process)."""
    return DefaultScope.overwrite_default_scope(cfg.default_scope)


def _drop_pretrained(node) -> None:
    """Remove pretrained-weight loading (URLs cannot be reached here; timing and outputs
    compared between models do not depend on it)."""
    if isinstance(node, dict):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        if node.get('pretrained'):
            node['pretrained'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def build_model(cfg: Config, device: torch.device, seed: int = 0) -> nn.Module:
    """The config's model, initialised as the Runner does except for pretrained weights,
    SyncBN turned into BN."""
    from mmengine.model import revert_sync_batchnorm
    models, _ = registries(cfg)
    torch.manual_seed(seed)  # the same config gets the same weights in every run
    model_cfg = copy.deepcopy(cfg.model)
    _drop_pretrained(model_cfg)
    with scope(cfg):
        model = models.build(model_cfg)
        model.init_weights()
    return revert_sync_batchnorm(model).to(device)


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """Load a checkpoint that must fit ``model`` exactly (checked first: a damaged or foreign
    file is an :class:`InputError` naming it; loaded without running code). Not mmengine's
    ``load_checkpoint``: it reports a mismatch as a long RuntimeError, not one line."""
    _, state = load_checkpoint_file(checkpoint)
    check_model_keys(model, state, checkpoint)
    model.load_state_dict(state)


def num_classes_of(model: nn.Module) -> int:
    """Number of classes of the model's (first) head."""
    for module in model.modules():
        n = getattr(module, 'num_classes', None)
        if isinstance(n, int) and n > 0:
            return n
    raise InputError(f'{type(model).__name__} has no head with num_classes')


def _size_from(value, wh: bool) -> Optional[Tuple[int, int]]:
    if isinstance(value, int):
        return value, value
    if isinstance(value,
                  (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (value[1], value[0]) if wh else tuple(value)
    return None


def input_size_of(cfg: Config, split: str) -> Optional[Tuple[int, int]]:
    """(H, W) of the images a model sees in ``split`` ('train' or 'test'), if the config
    fixes it: the data preprocessor's ``size`` (mmseg, (h, w)), a ``RandomCrop`` (mmseg,
    (h, w)), else the ``Resize``/``RandomResize`` scale ((w, h) in both mmdet and mmseg)."""
    model = cfg.model
    for node in (model, model.get('student') or {}):
        size = _size_from((node.get('data_preprocessor') or {}).get('size'), wh=False)
        if size:
            return size
    leaves = list(iter_datasets(cfg.get(f'{split}_dataloader'), split))
    pipeline = leaves[0][1].get('pipeline', []) if leaves else []
    if split == 'train':
        for t in pipeline:
            if t.get('type') == 'RandomCrop':
                size = _size_from(t.get('crop_size'), wh=False)
                if size:
                    return size
    for t in pipeline:
        if t.get('type') in ('Resize', 'RandomResize'):
            size = _size_from(t.get('scale'), wh=True)
            if size:
                return size
    return None


def common_input_size(cfgs: Sequence[Config], labels: Sequence[str], split: str,
                      img_size: Optional[Sequence[int]]) -> Tuple[int, int]:
    """The one input size all configs run at: ``img_size`` if given, else the size every
    config fixes; configs that need different sizes are an input error."""
    if img_size:
        return int(img_size[0]), int(img_size[1])
    sizes = [input_size_of(cfg, split) for cfg in cfgs]
    if any(s is None for s in sizes):
        unknown = [lbl for lbl, s in zip(labels, sizes) if s is None]
        raise InputError(f'cannot tell the input size of {", ".join(unknown)} from its '
                         'pipeline: pass --img-size H W')
    if len(set(sizes)) > 1:
        listed = ', '.join(f'{lbl}: {h}x{w}' for lbl, (h, w) in zip(labels, sizes))
        raise InputError(f'the models need different input sizes ({listed}); they must be '
                         'compared on the same batches: pass --img-size H W to run all at '
                         'one size')
    return sizes[0]


def synthetic_batch(task: str, batch_size: int, img_size: Tuple[int, int], num_classes: int,
                    seed: int) -> dict:
    """A deterministic dataloader batch (``inputs`` uint8 CHW images, ``data_samples`` with
    metainfo and ground truth), as the packing transforms produce it.

    Detection samples carry 3 boxes each (``gt_instances``); segmentation samples a blocky
    label map with some ignored (255) pixels (``gt_sem_seg``). Only the seed decides the
    content, so every model fed seed ``s`` sees the same images and annotations (labels
    taken modulo each model's class count).
    """
    g = torch.Generator().manual_seed(seed)
    h, w = img_size
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g))
        meta = dict(
            img_id=i,
            img_path=f'synthetic_{seed}_{i}.png',
            ori_shape=(h, w),
            img_shape=(h, w),
            scale_factor=(1., 1.),
            flip=False,
            flip_direction=None)
        if task == 'det':
            from mmdet.structures import DetDataSample
            from mmengine.structures import InstanceData
            xy = torch.rand(3, 2, generator=g) * 0.6 * torch.tensor([w, h])
            wh = (0.1 + 0.3 * torch.rand(3, 2, generator=g)) * torch.tensor([w, h])
            labels = torch.randint(0, 2**30, (3, ), generator=g) % num_classes
            sample = DetDataSample(metainfo=meta)
            sample.gt_instances = InstanceData(bboxes=torch.cat([xy, xy + wh], 1), labels=labels)
        else:
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            coarse = torch.randint(
                0, 2**30, (1, 1, max(h // 16, 1), max(w // 16, 1)), generator=g) % num_classes
            label = torch.nn.functional.interpolate(
                coarse.float(), size=(h, w), mode='nearest')[0].long()
            label[:, :h // 32] = 255
            sample = SegDataSample(metainfo=meta)
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def labels_of(paths: Sequence[str]) -> List[str]:
    """Short unique names of configs (file stems; repeats numbered)."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    labels = []
    for i, stem in enumerate(stems):
        labels.append(f'{stem} #{stems[:i + 1].count(stem)}' if stems.count(stem) > 1 else stem)
    return labels


def quiet_logs() -> None:
    """Keep mmengine's per-parameter initialisation messages out of the tools' output."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance('skd_det.analysis', log_level='WARNING')
