# Copyright (c) skd_det contributors.
"""What the three format writers share: argument checks, the output folder, per-image random
generators and progress logging."""
import logging
import shutil
import time
import zlib
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np

from .scene import DIFFICULTIES

logger = logging.getLogger(__name__)

# VOC/COCO images get a random size per image in this range (both sides) unless one is given,
# so that the pipelines' resizing is exercised.
VARIED_SIZE_RANGE = (224, 320)
MIN_IMG_SIDE = 32

_LOG_INTERVAL = 50


def check_args(num_train: int, num_val: int, seed: int, difficulty: str,
               img_size: Optional[Tuple[int, int]]):
    """Raises ValueError naming the first generator argument out of range."""
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive integer, got {value!r}')
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    if difficulty not in DIFFICULTIES:
        raise ValueError(f'difficulty must be one of {DIFFICULTIES}, got {difficulty!r}')
    if img_size is not None and (len(img_size) != 2 or min(img_size) < MIN_IMG_SIDE):
        raise ValueError('img_size must be (height, width), both at least '
                         f'{MIN_IMG_SIDE}, got {img_size!r}')


def prepare_out_dir(out_dir: Union[str, Path], outputs: Sequence[str], overwrite: bool) -> Path:
    """Refuses a non-empty ``out_dir`` unless ``overwrite``; then removes only the paths the
    format writes (``outputs``, relative to ``out_dir``) so no stale image lingers, and keeps
    the rest."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f'out_dir {str(out)!r} exists and is not a '
                              'directory')
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f'out_dir {str(out)!r} exists and is not empty; refusing to '
                                  'write into it unless overwrite is set (--overwrite)')
        for rel in outputs:
            path = out / rel
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            logger.warning('overwrite: removed %s', path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _image_rng(seed: int, tag: str, index: int) -> np.random.Generator:
    # Seeded per image, so an image does not depend on how many other images are drawn.
    return np.random.default_rng([seed, zlib.crc32(tag.encode()), index])


def image_size(rng: np.random.Generator, img_size: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    """``img_size`` as ints, or sides drawn from ``VARIED_SIZE_RANGE`` when it is None."""
    if img_size is not None:
        return int(img_size[0]), int(img_size[1])
    low, high = VARIED_SIZE_RANGE
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def run_split(tag: str, count: int, seed: int, write_one: Callable[[int, np.random.Generator],
                                                                   int]) -> dict:
    """Calls ``write_one(index, rng)`` for each image (it returns its object count), logging
    progress, and returns the split's stats."""
    start = time.perf_counter()
    objects = 0
    for index in range(count):
        objects += write_one(index, _image_rng(seed, tag, index))
        if (index + 1) % _LOG_INTERVAL == 0 or index + 1 == count:
            logger.info('%s: %d/%d images', tag, index + 1, count)
    return dict(images=count, objects=objects, seconds=time.perf_counter() - start)


def write_lines(path: Path, lines: Sequence[str]):
    """Writes one line per entry, creating the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))
