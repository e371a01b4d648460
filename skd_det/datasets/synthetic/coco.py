# Copyright (c) skd_det contributors.
"""Writer of the COCO 2017 instances format."""
import json
import time
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from PIL import Image

from .classes import COCO_CATEGORIES
from .masks import mask_to_polygons, mask_to_rle
from .scene import SceneObject, render_scene
from .styles import class_styles
from .writing import check_args, image_size, prepare_out_dir, run_split

_STYLES = class_styles(len(COCO_CATEGORIES))
_OUTPUTS = ('train2017', 'val2017', 'annotations/instances_train2017.json',
            'annotations/instances_val2017.json')


def _coco_annotation(obj: SceneObject, ann_id: int, image_id: int, height: int, width: int) -> dict:
    x0, y0, x1, y1 = obj.box
    if obj.crowd:
        full = np.zeros((height, width), bool)
        full[y0:y1, x0:x1] = obj.mask
        segmentation = mask_to_rle(full)
    else:
        segmentation = [(polygon + (x0, y0)).ravel().astype(float).tolist()
                        for polygon in mask_to_polygons(obj.mask)]
    return dict(
        segmentation=segmentation,
        # Exact polygons: the pixel count is also the polygon area.
        area=float(obj.mask.sum()),
        iscrowd=int(obj.crowd),
        image_id=image_id,
        bbox=[float(x0), float(y0), float(x1 - x0),
              float(y1 - y0)],
        category_id=COCO_CATEGORIES[obj.label]['id'],
        id=ann_id)


def generate_coco(out_dir: Union[str, Path],
                  num_train: int = 200,
                  num_val: int = 50,
                  seed: int = 0,
                  difficulty: str = 'easy',
                  img_size: Optional[Tuple[int, int]] = None,
                  overwrite: bool = False) -> dict:
    """Writes a COCO 2017 style instances dataset over all 80 categories.

    Layout: ``train2017/000000000001.jpg``, ``val2017/...`` and
    ``annotations/instances_{train,val}2017.json`` (info, licenses, images, annotations,
    categories with the real ids). Image ids run 1..num_train then on through val; annotation
    ids are unique across both files. Segmentations are exact pixel-edge polygons of the
    visible part (``area`` = pixel count = polygon area, ``bbox`` = its tight ``[x, y, w, h]``);
    about one image in ten has a crowd group annotated as a single ``iscrowd=1`` region with
    an uncompressed RLE, as real COCO crowds are.

    Args:
        out_dir (str | Path): Dataset root (the folder that holds ``annotations``).
        num_train (int): Train images.
        num_val (int): Val images.
        seed (int): Random seed.
        difficulty (str): ``'easy'`` or ``'hard'``.
        img_size (tuple[int], optional): Fixed ``(height, width)``; by default every image
            gets sides drawn from ``VARIED_SIZE_RANGE``.
        overwrite (bool): Allow a non-empty ``out_dir``; the image folders and the two
            instances files are replaced.

    Returns:
        dict: ``splits`` (per ``train2017``/``val2017``: images, objects, seconds) and total
        ``seconds``.
    """
    check_args(num_train, num_val, seed, difficulty, img_size)
    out = prepare_out_dir(out_dir, _OUTPUTS, overwrite)
    (out / 'annotations').mkdir(exist_ok=True)
    start = time.perf_counter()
    splits = {}
    first_image_id, first_ann_id = 1, 1
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        (out / split).mkdir()
        images, annotations = [], []

        def write_one(index,
                      rng,
                      split=split,
                      images=images,
                      annotations=annotations,
                      first_id=first_image_id,
                      first_ann=first_ann_id):
            image_id = first_id + index
            file_name = f'{image_id:012d}.jpg'
            height, width = image_size(rng, img_size)
            scene = render_scene(rng, height, width, _STYLES, difficulty, crowd_prob=0.1)
            Image.fromarray(scene.image).save(out / split / file_name, quality=90)
            images.append(
                dict(
                    license=1,
                    file_name=file_name,
                    coco_url='',
                    height=height,
                    width=width,
                    date_captured='2017-01-01 00:00:00',
                    flickr_url='',
                    id=image_id))
            ann_id = first_ann + len(annotations)
            annotations.extend(
                _coco_annotation(obj, ann_id + i, image_id, height, width)
                for i, obj in enumerate(scene.objects))
            return len(scene.objects)

        splits[split] = run_split(f'coco/{split}', count, seed, write_one)
        first_image_id += count
        first_ann_id += len(annotations)
        dataset = dict(
            info=dict(
                description='skd_det synthetic dataset in COCO format',
                url='',
                version='1.0',
                year=2017,
                contributor='skd_det',
                date_created='2017/01/01'),
            licenses=[dict(url='', id=1, name='synthetic, no restrictions')],
            images=images,
            annotations=annotations,
            categories=[dict(c) for c in COCO_CATEGORIES])
        with open(out / 'annotations' / f'instances_{split}.json', 'w') as f:
            json.dump(dataset, f)
    return dict(splits=splits, seconds=time.perf_counter() - start)
