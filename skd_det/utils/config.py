"""Config checks and rewrites shared by ``tools/train.py`` and ``tools/test.py``.

Everything here works on plain mmengine ``Config`` objects and imports neither mmdet nor mmseg,
so the tools can validate a config before a (slow) runner is built and fail with one message
that names the key or file at fault.
"""
import difflib
import inspect
import json
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.config import Config

DATA_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
             'test_evaluator')


class InputError(Exception):
    """Bad user input (config, data, arguments); the tools print it without a traceback."""


def task_of(cfg: Config) -> str:
    """Return ``'det'`` or ``'seg'`` from the config's ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope == 'mmdet':
        return 'det'
    if scope == 'mmseg':
        return 'seg'
    raise InputError(f"config sets default_scope={scope!r}; skd_det's tools run mmdet "
                     "('mmdet') and mmseg ('mmseg') configs")


def load_config(path: str,
                launcher: str = 'none',
                cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None,
                work_dir: Optional[str] = None) -> Config:
    """Load a train/test config with the tools' common arguments applied.

    ``--cfg-options`` keys are checked before merging, ``--data-root`` is applied after them
    (so it also moves roots the options set), the work dir defaults to
    ``./work_dirs/<config name>`` as in mmdet, and every component's keys are checked against
    its constructor (:func:`~skd_det.utils.component_args.check_component_args`).
    """
    if not osp.isfile(path):
        raise InputError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    task_of(cfg)
    cfg.launcher = launcher
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if data_root:
        set_data_root(cfg, data_root)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    from .component_args import check_component_args  # imports the task's registries
    check_component_args(cfg)
    return cfg


def iter_datasets(cfg_node: Any, path: str) -> Iterator[Tuple[str, dict]]:
    """Yield ``(key path, dataset cfg)`` for every leaf dataset, looking through wrappers
    (RepeatDataset ``dataset``, ConcatDataset ``datasets``)."""
    if isinstance(cfg_node, dict):
        if 'dataset' in cfg_node:
            yield from iter_datasets(cfg_node['dataset'], f'{path}.dataset')
        elif 'datasets' in cfg_node:
            for i, sub in enumerate(cfg_node['datasets']):
                yield from iter_datasets(sub, f'{path}.datasets[{i}]')
        elif 'type' in cfg_node:
            yield path, cfg_node


def _strip(root: str) -> str:
    return root.rstrip('/\\') or root


def _replace_root(node: Any, old_roots: List[str], new_root: str) -> Any:
    if isinstance(node, dict):
        return type(node)({k: _replace_root(v, old_roots, new_root) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_root(v, old_roots, new_root) for v in node)
    if isinstance(node, str):
        for old in old_roots:
            rest = node[len(old):]
            if node.startswith(old) and (rest == '' or rest[0] in '/\\'):
                # keep the trailing '/' mmdet's bases rely on for 'data_root + ...' joins
                return _strip(new_root) + rest
    return node


def set_data_root(cfg: Config, data_root: str) -> List[str]:
    """Point every dataset and evaluator of ``cfg`` at ``data_root``.

    The config's own dataset roots (``data_root`` of each dataset, e.g. ``data/VOCdevkit/``)
    are replaced as path prefixes in all dataloaders and evaluators, so derived paths such as
    a CocoMetric's ``ann_file='data/coco/annotations/...'`` move along.

    Returns:
        list[str]: the roots that were replaced.
    """
    old_roots = set()
    for key in DATA_KEYS[:3]:
        for _, ds in iter_datasets(cfg.get(key), key):
            if ds.get('data_root'):
                old_roots.add(_strip(ds['data_root']))
    if cfg.get('data_root'):
        old_roots.add(_strip(cfg.data_root))
    if not old_roots:
        raise InputError('--data-root: the config has no dataset with a `data_root` to replace')
    # longest first, so 'data/VOCdevkit/VOC2012' wins over 'data/VOCdevkit'
    ordered = sorted(old_roots, key=len, reverse=True)
    for key in DATA_KEYS:
        if cfg.get(key) is not None:
            cfg[key] = _replace_root(cfg[key], ordered, data_root)
    if cfg.get('data_root'):
        cfg.data_root = _replace_root(cfg.data_root, ordered, data_root)
    return ordered


def check_cfg_options(cfg: Config, options: dict) -> None:
    """Reject ``--cfg-options`` keys that do not exist in the config (typos).

    New top-level keys are allowed when they are Runner arguments (``randomness``, ...) and
    new last keys when their dict is a typed component (a new constructor argument, which
    :func:`~skd_det.utils.component_args.check_component_args` checks after the merge); any
    other unknown key would be merged silently by mmengine and then fail much later, or never
    be used.
    """
    from mmengine.runner import Runner
    runner_args = set(inspect.signature(Runner.__init__).parameters)
    cfg_dict = cfg.to_dict()
    for full_key in options:
        parts = full_key.split('.')
        node: Any = cfg_dict
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth]) or 'the config'
            if isinstance(node, (list, tuple)) and part.isdigit():
                if int(part) >= len(node):
                    raise InputError(f'--cfg-options {full_key}: {where} has only '
                                     f'{len(node)} items')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise InputError(f'--cfg-options {full_key}: {where} is a '
                                 f'{type(node).__name__}, not a dict')
            if part not in node:
                if depth == 0 and part in runner_args:
                    break
                # a new argument of a typed component is legitimate (the build checks it)
                if depth == len(parts) - 1 and 'type' in node:
                    break
                close = difflib.get_close_matches(part, [str(k) for k in node], n=3)
                hint = f' Did you mean {", ".join(close)}?' if close else ''
                raise InputError(f'--cfg-options {full_key}: key {part!r} does not exist in '
                                 f'{where}.{hint}')
            node = node[part]


def _ann_path(ds: dict) -> Optional[str]:
    ann = ds.get('ann_file')
    if not ann:
        return None
    return ann if osp.isabs(ann) else osp.join(ds.get('data_root') or '', ann)


def _classes_of(ds: dict) -> Optional[Tuple[str, ...]]:
    metainfo = ds.get('metainfo') or {}
    classes = metainfo.get('classes')
    return tuple(classes) if classes else None


def _check_classes(wanted: Tuple[str, ...], present: set, path: str, source: str) -> None:
    missing = [c for c in wanted if c not in present]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(c, sorted(present), n=1)
            hints.append(f'{c!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
        raise InputError(f'{path}.metainfo.classes: {", ".join(hints)} not found in {source}; '
                         f'it has {sorted(present)}')


def _check_voc(ds: dict, path: str, ann: str) -> None:
    sub_root = (ds.get('data_prefix') or {}).get('sub_data_root', '')
    xml_dir = osp.join(ds.get('data_root') or '', sub_root, 'Annotations')
    with open(ann) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise InputError(f'{path}.ann_file: {ann} lists no images')
    names = set()
    for img_id in ids:
        xml_path = osp.join(xml_dir, f'{img_id}.xml')
        if not osp.isfile(xml_path):
            raise InputError(f'{path}: annotation {xml_path} (listed in {ann}) does not exist')
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            raise InputError(f'{path}: malformed XML in {xml_path}: {e}') from None
        for obj in root.findall('object'):
            name = obj.findtext('name')
            if name is None or obj.find('bndbox') is None:
                raise InputError(f'{path}: {xml_path} has an <object> without <name> or '
                                 '<bndbox>')
            names.add(name)
    classes = _classes_of(ds)
    if classes:
        _check_classes(classes, names, path, f'the objects of {xml_dir}')


def _check_coco(ds: dict, path: str, ann: str) -> None:
    try:
        with open(ann) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f'{path}.ann_file: malformed JSON in {ann}: {e}') from None
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise InputError(f'{path}.ann_file: {ann} has no {key!r} list '
                             '(not a COCO instances file?)')
    classes = _classes_of(ds)
    if classes:
        _check_classes(classes, {c.get('name') for c in data['categories']}, path, ann)


_CHECKERS = {'VOCDataset': _check_voc, 'CocoDataset': _check_coco}


def check_datasets(cfg: Config, keys: Tuple[str, ...]) -> None:
    """Check that the datasets under ``keys`` exist and their annotations parse.

    Missing roots, annotation files and image folders, malformed VOC XML / COCO JSON and
    configured class names absent from the annotations raise :class:`InputError` naming the
    config key and file, before any model is built.
    """
    for key in keys:
        for path, ds in iter_datasets(cfg.get(key), key):
            root = ds.get('data_root')
            if root and not osp.isdir(root):
                raise InputError(
                    f'{path}.data_root: {root!r} does not exist. Put the dataset there '
                    '(see README, "Real datasets"), pass --data-root DIR, or make a synthetic '
                    'one: python tools/misc/make_synthetic_dataset.py {voc,coco,cityscapes} DIR')
            ann = _ann_path(ds)
            if ann is not None and not osp.isfile(ann):
                raise InputError(f'{path}.ann_file: {ann} does not exist')
            for name, prefix in (ds.get('data_prefix') or {}).items():
                full = prefix if osp.isabs(prefix) else osp.join(root or '', prefix)
                if prefix and not osp.isdir(full):
                    raise InputError(f'{path}.data_prefix.{name}: folder {full} does not exist')
            checker = _CHECKERS.get(ds.get('type'))
            if checker is not None and ann is not None:
                checker(ds, path, ann)
