# Copyright (c) skd_det contributors.
"""Writer of the Cityscapes fine-annotation format."""
import time
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from PIL import Image

from .classes import CITYSCAPES_LABEL_IDS
from .street import render_street
from .writing import check_args, prepare_out_dir, run_split

DEFAULT_CITYSCAPES_SIZE = (256, 512)

_OUTPUTS = ('leftImg8bit', 'gtFine')
_CITIES = dict(train=('aachen', 'bochum', 'bremen'), val=('frankfurt', 'lindau', 'munster'))
_IGNORE = 255
_TRAIN_ID_LUT = np.full(256, _IGNORE, np.uint8)
_TRAIN_ID_LUT[list(CITYSCAPES_LABEL_IDS)] = np.arange(len(CITYSCAPES_LABEL_IDS))


def generate_cityscapes(out_dir: Union[str, Path],
                        num_train: int = 200,
                        num_val: int = 50,
                        seed: int = 0,
                        difficulty: str = 'easy',
                        img_size: Optional[Tuple[int, int]] = None,
                        overwrite: bool = False) -> dict:
    """Writes a Cityscapes style fine-annotation dataset.

    Image ``i`` of a split goes to city ``cities[i % 3]`` (train: aachen, bochum, bremen; val:
    frankfurt, lindau, munster) as sequence ``i // 3``, frame 19, e.g.
    ``leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png`` with
    ``gtFine/train/aachen/aachen_000000_000019_gtFine_{labelIds,labelTrainIds,instanceIds}.png``:
    uint8 labelIds (Cityscapes ids, including ignored ones such as ego vehicle and static),
    uint8 trainIds (0-18, 255 ignore) and 16-bit instanceIds (``labelId * 1000 + index`` on
    things).

    Args:
        out_dir (str | Path): Dataset root (the folder that holds ``leftImg8bit``).
        num_train (int): Train images.
        num_val (int): Val images.
        seed (int): Random seed.
        difficulty (str): ``'easy'`` or ``'hard'``.
        img_size (tuple[int], optional): ``(height, width)``, by default
            ``DEFAULT_CITYSCAPES_SIZE`` (Cityscapes' 1:2 aspect).
        overwrite (bool): Allow a non-empty ``out_dir``; its ``leftImg8bit`` and ``gtFine``
            are replaced.

    Returns:
        dict: ``splits`` (per ``train``/``val``: images, objects (visible thing instances),
        seconds) and total ``seconds``.
    """
    check_args(num_train, num_val, seed, difficulty, img_size)
    height, width = img_size or DEFAULT_CITYSCAPES_SIZE
    out = prepare_out_dir(out_dir, _OUTPUTS, overwrite)
    start = time.perf_counter()
    splits = {}
    for split, count in (('train', num_train), ('val', num_val)):
        cities = _CITIES[split]
        for city in cities[:count]:
            (out / 'leftImg8bit' / split / city).mkdir(parents=True)
            (out / 'gtFine' / split / city).mkdir(parents=True)

        def write_one(index, rng, split=split, cities=cities):
            city = cities[index % len(cities)]
            stem = f'{city}_{index // len(cities):06d}_000019'
            image, label_ids, instance_ids = render_street(rng, height, width, difficulty)
            # Fast zlib level for the noisy photo; label maps compress well anyway.
            Image.fromarray(image).save(
                out / 'leftImg8bit' / split / city / f'{stem}_leftImg8bit.png', compress_level=1)
            gt = out / 'gtFine' / split / city
            Image.fromarray(label_ids).save(gt / f'{stem}_gtFine_labelIds.png')
            Image.fromarray(_TRAIN_ID_LUT[label_ids]).save(gt / f'{stem}_gtFine_labelTrainIds.png')
            Image.fromarray(instance_ids).save(gt / f'{stem}_gtFine_instanceIds.png')
            return len(np.unique(instance_ids[instance_ids >= 1000]))

        splits[split] = run_split(f'cityscapes/{split}', count, seed, write_one)
    return dict(splits=splits, seconds=time.perf_counter() - start)
