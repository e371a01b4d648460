# Copyright (c) skd_det contributors.
"""List the broken images and annotations of a config's datasets before a long run.

    python tools/misc/check_dataset.py CONFIG [--data-root DIR] [--cfg-options k=v ...]

Every dataset of the config's train, val and test dataloaders (wrappers looked through, one
shared by several dataloaders checked once) parses its annotations the way mmdet/mmseg do, one
annotation file at a time where the format has several (VOC's XML), so each broken one is
named. Then every image and segmentation map the annotations list is read and decoded in full,
with the decoder of the dataset's pipeline (mmcv ``imfrombytes``: cv2 for images, pillow for
mmseg's label maps) plus the truncated-JPEG check cv2 skips, behind a progress bar.

Prints one line per broken file, ``path: reason``, and exits with 1 if there is any, else 0.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, List, Tuple

from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from skd_det.utils import InputError, load_config, task_of
from skd_det.utils.config import iter_datasets

KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# ignored when deciding whether two dataloaders read the same data
_READ_ONLY_KEYS = ('pipeline', 'test_mode', 'filter_cfg', 'indices', 'serialize_data', 'lazy_init')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Read every image and annotation of a config's datasets once and list "
        'the broken ones')
    parser.add_argument('config', help='train/test config file')
    parser.add_argument('--data-root', help='point every dataset at this root')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings, key=value')
    return parser.parse_args(argv)


def _reason(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError):
        return f'file does not exist ({e.filename or e})'
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0]}' if text else type(e).__name__


def _registry(task: str):
    if task == 'det':
        from mmdet.registry import DATASETS
        from mmdet.utils import register_all_modules
    else:
        from mmseg.registry import DATASETS
        from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return DATASETS


def _step(pipeline: list, names: Tuple[str, ...]) -> dict:
    for step in pipeline or []:
        if isinstance(step, dict) and step.get('type') in names:
            return step
    return {}


def _data_list(ds_cfg: dict, registry) -> Tuple[List[dict], List[Tuple[str, str]]]:
    """The dataset's unfiltered data list and its broken annotations ``(path, reason)``.

    ``load_data_list`` is called directly, with the dataset's ``parse_data_info`` guarded, so
    one bad annotation among many (a VOC XML) is named and the others are still read;
    ``full_init`` would stop at the first, and filtering would hide images the run may read.
    """
    cfg = copy.deepcopy(ds_cfg)
    cfg.update(pipeline=[], lazy_init=True)
    where = cfg.get('ann_file') or cfg.get('data_root') or cfg.get('type')
    try:
        dataset = registry.build(cfg)
    except Exception as e:
        return [], [(str(where), f'dataset cannot be built ({_reason(e)})')]
    where = dataset.ann_file or dataset.data_root or where
    broken = []
    parse = dataset.parse_data_info

    def guarded(raw: dict):
        try:
            return parse(raw)
        except Exception as e:
            path = raw.get('xml_path') or raw.get('file_name') or where
            broken.append((str(path), f'annotation cannot be parsed ({_reason(e)})'))
            return None

    dataset.parse_data_info = guarded
    try:
        infos = dataset.load_data_list()
    except Exception as e:  # the annotation file itself (COCO JSON), a missing folder
        return [], broken + [(str(where), f'annotations cannot be loaded ({_reason(e)})')]
    flat = []
    for info in infos:
        flat.extend(info if isinstance(info, list) else [info] if info else [])
    return flat, broken


def collect(cfg) -> Tuple[Dict[str, tuple], List[Tuple[str, str]]]:
    """``({file: (kind, read_image arguments)}, broken annotations)`` of the config's
    datasets, each file once."""
    task = task_of(cfg)
    registry = _registry(task)
    files: Dict[str, tuple] = {}
    broken: List[Tuple[str, str]] = []
    seen = set()
    for key in KEYS:
        for _, ds in iter_datasets(cfg.get(key), key):
            ds = ds.to_dict() if hasattr(ds, 'to_dict') else dict(ds)
            ident = json.dumps({
                k: v
                for k, v in ds.items() if k not in _READ_ONLY_KEYS
            },
                               sort_keys=True,
                               default=str)
            if ident in seen:
                continue
            seen.add(ident)
            load = _step(ds.get('pipeline'), ('LoadImageFromFile', 'CheckedLoadImageFromFile'))
            anns = _step(ds.get('pipeline'), ('LoadAnnotations', ))
            backend_args = load.get('backend_args', ds.get('backend_args'))
            img_args = (load.get('color_type', 'color'), load.get('imdecode_backend',
                                                                  'cv2'), backend_args)
            # mmseg's LoadAnnotations decodes label maps with pillow, mmdet's with cv2
            seg_args = ('unchanged',
                        anns.get('imdecode_backend', 'pillow' if task == 'seg' else 'cv2'),
                        anns.get('backend_args', backend_args))
            infos, bad = _data_list(ds, registry)
            broken += bad
            for info in infos:
                files.setdefault(info['img_path'], ('image', img_args))
                if info.get('seg_map_path'):
                    files.setdefault(info['seg_map_path'], ('segmentation map', seg_args))
    return files, broken


def check_files(files: Dict[str, tuple]) -> List[Tuple[str, str]]:
    """Decode every file once (progress bar on stdout); the broken ones ``(path, reason)``."""
    from skd_det.datasets.transforms import read_image
    broken = []
    bar = ProgressBar(len(files)) if files else None
    for path, (kind, (flag, backend, backend_args)) in files.items():
        img, reason = read_image(path, flag, backend, backend_args)
        if img is None:
            broken.append((path, f'{kind}: {reason}'))
        bar.update()
    return broken


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, cfg_options=args.cfg_options, data_root=args.data_root)
    except InputError as e:
        sys.exit(f'error: {e}')
    files, broken = collect(cfg)
    if not files and not broken:
        sys.exit(f'error: the datasets of {args.config} list no image')
    print(f'reading {len(files)} files (images, segmentation maps) of {args.config}', flush=True)
    broken += check_files(files)
    if not broken:
        print(f'\nall {len(files)} files read and decoded; no broken annotation')
        return 0
    print(f'\n{len(broken)} broken file(s):')
    for path, reason in broken:
        print(f'{osp.normpath(path)}: {reason}')
    return 1


if __name__ == '__main__':
    sys.exit(main())
