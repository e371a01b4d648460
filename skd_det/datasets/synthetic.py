# Copyright (c) skd_det contributors.
"""Deterministic synthetic datasets in the real PASCAL VOC, COCO and Cityscapes on-disk formats.

Machines here cannot download the real datasets, yet the configs must read the standard
``data/`` layouts unchanged. This module renders small, learnable images and writes them with
exactly the files, names and annotation conventions of the real datasets, so mmdet's
``VOCDataset`` / ``CocoDataset`` and mmseg's ``PascalVOCDataset`` / ``CityscapesDataset`` load
them without any registration or conversion step.

Conventions shared by all formats:

- Every image comes from its own random generator seeded by ``(seed, dataset, split, index)``:
  the same arguments give byte-identical files, and an image does not change when the number
  of images in another split changes.
- Every class has a fixed visual identity (:class:`ClassStyle`: shape, texture, hue, aspect
  ratio, texture frequency) that is the same for every seed; instances jitter hue, saturation,
  brightness, size, aspect, rotation, texture phase and shading, and textures are two-tone, so
  neither a single pixel colour nor the shape alone tells the class.
- Objects are painted from the smallest to the largest (larger reads as nearer), so an occluder
  never fits inside the object it covers and visible masks never have holes, which COCO
  polygons could not express. COCO crowd groups (RLE masks, holes allowed) go first, as the
  farthest layer.
- Boxes and masks describe the *visible* part of an object (as COCO does): the box is the tight
  box of the visible mask. Placement re-draws an object's position until every object keeps at
  least ``min_visible`` of its full area inside the image and uncovered (0.8 for ``easy``,
  0.3 for ``hard``); an object that finds no such place is left out. Heavily occluded objects
  therefore never exist, so VOC ``difficult`` is always 0, while ``truncated`` marks objects
  cut by the image border.
- ``easy``: 1-4 objects per image with a diameter of 25-60% of the shorter side and little
  overlap. ``hard``: 5-15 objects of 6-30%, up to 70% hidden, plus 2-6 distractor shapes that
  belong to no class, busier backgrounds and stronger pixel noise.
"""
import colorsys
import json
import logging
import math
import shutil
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

import numpy as np
from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')

# The 80 COCO categories with their real (non-contiguous) ids, in mmdet's CocoDataset order.
COCO_CATEGORIES = tuple(
    dict(supercategory=sup, id=cid, name=name) for cid, name, sup in (
        (1, 'person', 'person'), (2, 'bicycle', 'vehicle'),
        (3, 'car', 'vehicle'), (4, 'motorcycle', 'vehicle'),
        (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
        (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'),
        (9, 'boat', 'vehicle'), (10, 'traffic light', 'outdoor'),
        (11, 'fire hydrant', 'outdoor'), (13, 'stop sign', 'outdoor'),
        (14, 'parking meter', 'outdoor'), (15, 'bench', 'outdoor'),
        (16, 'bird', 'animal'), (17, 'cat', 'animal'), (18, 'dog', 'animal'),
        (19, 'horse', 'animal'), (20, 'sheep', 'animal'),
        (21, 'cow', 'animal'), (22, 'elephant', 'animal'),
        (23, 'bear', 'animal'), (24, 'zebra', 'animal'),
        (25, 'giraffe', 'animal'), (27, 'backpack', 'accessory'),
        (28, 'umbrella', 'accessory'), (31, 'handbag', 'accessory'),
        (32, 'tie', 'accessory'), (33, 'suitcase', 'accessory'),
        (34, 'frisbee', 'sports'), (35, 'skis', 'sports'),
        (36, 'snowboard', 'sports'), (37, 'sports ball', 'sports'),
        (38, 'kite', 'sports'), (39, 'baseball bat', 'sports'),
        (40, 'baseball glove', 'sports'), (41, 'skateboard', 'sports'),
        (42, 'surfboard', 'sports'), (43, 'tennis racket', 'sports'),
        (44, 'bottle', 'kitchen'), (46, 'wine glass', 'kitchen'),
        (47, 'cup', 'kitchen'), (48, 'fork', 'kitchen'),
        (49, 'knife', 'kitchen'), (50, 'spoon', 'kitchen'),
        (51, 'bowl', 'kitchen'), (52, 'banana', 'food'), (53, 'apple', 'food'),
        (54, 'sandwich', 'food'), (55, 'orange', 'food'),
        (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
        (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
        (61, 'cake', 'food'), (62, 'chair', 'furniture'),
        (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
        (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'),
        (70, 'toilet', 'furniture'), (72, 'tv', 'electronic'),
        (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
        (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
        (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
        (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'),
        (81, 'sink', 'appliance'), (82, 'refrigerator', 'appliance'),
        (84, 'book', 'indoor'), (85, 'clock', 'indoor'), (86, 'vase', 'indoor'),
        (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
        (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor')))

# The 19 Cityscapes training classes in trainId order and their labelIds (cityscapesscripts'
# labels table); every other labelId maps to trainId 255.
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                      'traffic light', 'traffic sign', 'vegetation', 'terrain',
                      'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
                      'motorcycle', 'bicycle')
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26,
                        27, 28, 31, 32, 33)

DIFFICULTIES = ('easy', 'hard')
DEFAULT_CITYSCAPES_SIZE = (256, 512)
# VOC/COCO images get a random size per image in this range (both sides) unless one is given,
# so that the pipelines' resizing is exercised.
VARIED_SIZE_RANGE = (224, 320)
MIN_IMG_SIDE = 32

_LOG_INTERVAL = 50


class ClassStyle(NamedTuple):
    """Fixed visual identity of a class.

    Args:
        shape (str): Key of :data:`_UNIT_SHAPES` or ``'blob'`` (random outline, distractors).
            Unused for Cityscapes stuff classes, whose regions are laid out by the scene.
        texture (str): Pattern name understood by :func:`_pattern`.
        hue (float): Base hue in [0, 1).
        aspect (float): Width / height before rotation.
        frequency (float): Texture repetitions across half the object.
        saturation (float): Base HSV saturation.
        value (float): Base HSV value (brightness).
    """
    shape: str
    texture: str
    hue: float
    aspect: float = 1.0
    frequency: float = 3.0
    saturation: float = 0.7
    value: float = 0.75


class SceneObject(NamedTuple):
    """An annotated object of a rendered scene.

    Args:
        label (int): Class index (0-based, into the class list of the dataset).
        crowd (bool): A group of same-class shapes annotated as one COCO crowd region.
        truncated (bool): Part of the object lies outside the image.
        box (tuple[int]): ``(x0, y0, x1, y1)`` tight box of the visible pixels, ``x1``/``y1``
            exclusive.
        mask (np.ndarray): Visible pixels inside ``box``, bool of shape ``(y1-y0, x1-x0)``.
    """
    label: int
    crowd: bool
    truncated: bool
    box: Tuple[int, int, int, int]
    mask: np.ndarray


class Scene(NamedTuple):
    """A rendered image with its annotations.

    Args:
        image (np.ndarray): RGB uint8 image of shape ``(H, W, 3)``.
        instances (np.ndarray): int16 map of shape ``(H, W)``: ``k + 1`` where object ``k`` of
            ``objects`` is visible, 0 on background and distractors.
        objects (list[SceneObject]): Annotated objects.
    """
    image: np.ndarray
    instances: np.ndarray
    objects: List[SceneObject]


class _Difficulty(NamedTuple):
    num_objects: Tuple[int, int]  # inclusive range
    num_distractors: Tuple[int, int]
    size: Tuple[float, float]  # object diameter / shorter image side, log-uniform
    min_visible: float
    num_blobs: Tuple[int, int]  # translucent background blobs
    noise: float  # std of the per-pixel noise, 0-255 scale


_DIFFICULTY = dict(
    easy=_Difficulty((1, 4), (0, 0), (0.25, 0.6), 0.8, (2, 4), 4.0),
    hard=_Difficulty((5, 15), (2, 6), (0.06, 0.3), 0.3, (6, 12), 9.0))


def _regular_polygon(corners: int, radii: Sequence[float] = (1.0, )):
    angles = -np.pi / 2 + 2 * np.pi * np.arange(corners) / corners
    radius = np.resize(np.asarray(radii, np.float64), corners)
    return np.stack([np.cos(angles), np.sin(angles)], 1) * radius[:, None]


def _half_disc():
    angles = np.linspace(np.pi, 2 * np.pi, 24)
    return np.stack([np.cos(angles), 2 * np.sin(angles) + 1], 1)


_ARM = 0.35
# Outlines in a [-1, 1] frame; all are simply connected so that visible masks stay hole-free.
_UNIT_SHAPES = dict(
    rectangle=np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64),
    ellipse=_regular_polygon(40),
    triangle=np.array([[0, -1], [1, 1], [-1, 1]], np.float64),
    diamond=np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], np.float64),
    pentagon=_regular_polygon(5),
    hexagon=_regular_polygon(6),
    star=_regular_polygon(10, (1.0, 0.45)),
    cross=np.array([[-_ARM, -1], [_ARM, -1], [_ARM, -_ARM], [1, -_ARM],
                    [1, _ARM], [_ARM, _ARM], [_ARM, 1], [-_ARM, 1],
                    [-_ARM, _ARM], [-1, _ARM], [-1, -_ARM], [-_ARM, -_ARM]],
                   np.float64),
    chevron=np.array([[-1, -0.6], [0, 0.2], [1, -0.6], [1, 0.2], [0, 1],
                      [-1, 0.2]], np.float64),
    half_disc=_half_disc())
_CLASS_SHAPES = tuple(_UNIT_SHAPES)
_CLASS_TEXTURES = ('plain', 'stripes', 'checker', 'dots', 'gradient', 'rings')
# 'speckle' draws random pixels: used for distractors and stuff, never as a class identity.
_ALL_TEXTURES = _CLASS_TEXTURES + ('speckle', )
_GOLDEN = 0.6180339887


def class_styles(num_classes: int) -> List[ClassStyle]:
    """Fixed visual identities for ``num_classes`` object classes.

    Shape and texture cycle so that the first 60 classes all differ in the (shape, texture)
    pair; classes 60 apart share it and differ in hue by about 150 degrees. Hues follow the
    golden ratio, so neighbouring class indices look unlike each other.

    Args:
        num_classes (int): Number of classes.

    Returns:
        list[ClassStyle]: One style per class index.
    """
    num_pairs = len(_CLASS_SHAPES) * len(_CLASS_TEXTURES)
    return [
        ClassStyle(
            shape=_CLASS_SHAPES[k % len(_CLASS_SHAPES)],
            texture=_CLASS_TEXTURES[(k + k // len(_CLASS_SHAPES)) %
                                    len(_CLASS_TEXTURES)],
            hue=(k * _GOLDEN + 0.5 * (k // num_pairs)) % 1.0,
            aspect=2**((k * (1 - _GOLDEN)) % 1.0 - 0.5),
            frequency=2.0 + (3 * k) % 4) for k in range(num_classes)
    ]


_VOC_STYLES = class_styles(len(VOC_CLASSES))
_COCO_STYLES = class_styles(len(COCO_CATEGORIES))

# Cityscapes: street-plausible identities keyed by labelId.
_STREET_STYLES = {
    1: ClassStyle('', 'gradient', 0.6, saturation=0.2, value=0.3),  # ego vehicle
    7: ClassStyle('', 'speckle', 0.6, saturation=0.08, value=0.38),
    8: ClassStyle('', 'checker', 0.08, frequency=12, saturation=0.15,
                  value=0.62),
    11: ClassStyle('', 'checker', 0.07, frequency=6, saturation=0.3,
                   value=0.55),
    12: ClassStyle('', 'plain', 0.1, saturation=0.2, value=0.68),
    13: ClassStyle('', 'stripes', 0.08, frequency=25, saturation=0.35,
                   value=0.5),
    17: ClassStyle('', 'plain', 0.6, saturation=0.1, value=0.42),
    19: ClassStyle('rectangle', 'dots', 0.15, aspect=0.45, frequency=1.5,
                   saturation=0.9, value=0.45),
    20: ClassStyle('ellipse', 'rings', 0.0, frequency=1.5, saturation=0.85,
                   value=0.85),
    21: ClassStyle('', 'speckle', 0.3, saturation=0.6, value=0.45),
    22: ClassStyle('', 'dots', 0.2, frequency=8, saturation=0.45, value=0.52),
    23: ClassStyle('', 'gradient', 0.58, saturation=0.35, value=0.92),
    24: ClassStyle('ellipse', 'gradient', 0.95, aspect=0.4, frequency=2,
                   saturation=0.6, value=0.6),
    25: ClassStyle('pentagon', 'stripes', 0.75, aspect=0.55, frequency=3),
    26: ClassStyle('half_disc', 'plain', 0.62, aspect=2.2, frequency=2),
    27: ClassStyle('rectangle', 'checker', 0.12, aspect=1.5, frequency=3),
    28: ClassStyle('rectangle', 'stripes', 0.15, aspect=2.8, frequency=4,
                   value=0.85),
    31: ClassStyle('hexagon', 'stripes', 0.5, aspect=4.0, frequency=6),
    32: ClassStyle('diamond', 'dots', 0.85, aspect=1.3, frequency=3),
    33: ClassStyle('ellipse', 'rings', 0.3, aspect=1.6, frequency=3),
}
# Height of a thing at the bottom image row (fraction of the image height) and how often it
# occurs (people and cars dominate, as in Cityscapes).
_THINGS = {24: (0.35, 0.3), 25: (0.38, 0.08), 26: (0.3, 0.3), 27: (0.36, 0.06),
           28: (0.38, 0.05), 31: (0.4, 0.05), 32: (0.25, 0.06), 33: (0.22, 0.1)}
_VEHICLES = (26, 27, 28, 31)  # kept on the road
_STATIC = 4  # Cityscapes 'static': clutter that is ignored (trainId 255)
_EGO_VEHICLE = 1


def _hsv(hue: float, saturation: float, value: float) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(hue % 1.0, min(max(saturation, 0.0), 1.0),
                              min(max(value, 0.0), 1.0))
    return np.array(rgb, np.float32) * 255


class _Appearance(NamedTuple):
    texture: str
    frequency: float
    phase: float
    colours: np.ndarray  # (2, 3) float32: pattern 0 and pattern 1
    shading: np.ndarray  # (2, ) linear light gradient over the object frame


def _appearance(rng: np.random.Generator, style: ClassStyle,
                hue_jitter: float = 0.04) -> _Appearance:
    hue = style.hue + rng.uniform(-hue_jitter, hue_jitter)
    saturation = style.saturation + rng.uniform(-0.2, 0.2)
    value = style.value + rng.uniform(-0.25, 0.2)
    # A darker tint of the same hue, so textures show as light/dark and colour stays a cue.
    colours = np.stack([
        _hsv(hue, saturation, value),
        _hsv(hue + 0.08, saturation * 0.6, value * 0.45)
    ])
    return _Appearance(style.texture, style.frequency * rng.uniform(0.8, 1.25),
                       rng.uniform(0.0, 2.0), colours,
                       rng.uniform(-0.25, 0.25, 2))


def _random_style(rng: np.random.Generator) -> ClassStyle:
    return ClassStyle('blob', str(rng.choice(_ALL_TEXTURES)), rng.random(),
                      2**rng.uniform(-0.7, 0.7), rng.uniform(1.5, 5.0),
                      rng.uniform(0.2, 0.9), rng.uniform(0.3, 0.95))


def _pattern(rng: np.random.Generator, texture: str, u: np.ndarray,
             v: np.ndarray, frequency: float, phase: float) -> np.ndarray:
    """Texture value in [0, 1] at object-frame coordinates ``u``, ``v`` (about [-1, 1])."""
    a, b = u * frequency + phase, v * frequency + phase
    if texture == 'stripes':
        t = np.sin(np.pi * a) > 0
    elif texture == 'checker':
        t = (np.floor(a) + np.floor(b)) % 2 > 0
    elif texture == 'dots':
        t = (a - np.round(a))**2 + (b - np.round(b))**2 < 0.09
    elif texture == 'rings':
        t = np.sin(np.pi * (np.hypot(u, v) * frequency + phase)) > 0
    elif texture == 'gradient':
        t = np.clip((v + 1) / 2, 0, 1)
    elif texture == 'speckle':
        t = rng.random(u.shape, np.float32)
    elif texture == 'plain':
        t = np.zeros(u.shape, np.float32)
    else:
        raise ValueError(f'unknown texture {texture!r}')
    return t.astype(np.float32, copy=False)


def _colours(rng: np.random.Generator, appearance: _Appearance,
             frame: Tuple[float, float, float, float, float],
             box: Tuple[int, int, int, int]) -> np.ndarray:
    """RGB float32 colours of an appearance over the pixels of ``box``.

    Args:
        frame: ``(cx, cy, sx, sy, angle)``: centre, half extents and rotation of the
            object frame in which the texture is laid out, so textures follow the object.
        box: ``(x0, y0, x1, y1)`` pixel box to colour, exclusive ends.
    """
    cx, cy, sx, sy, angle = frame
    x0, y0, x1, y1 = box
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
    cos, sin = math.cos(angle), math.sin(angle)
    u = (dx * cos + dy * sin) / sx
    v = (dy * cos - dx * sin) / sy
    t = _pattern(rng, appearance.texture, u, v, appearance.frequency,
                 appearance.phase)
    low, high = appearance.colours
    shade = 1 + appearance.shading[0] * u + appearance.shading[1] * v
    return (low + (high - low) * t[..., None]) * np.clip(shade, 0.6,
                                                         1.4)[..., None]


def _rasterize(polygons: Sequence[np.ndarray], width: int,
               height: int) -> np.ndarray:
    """Bool mask of the union of polygons given in pixel-edge coordinates."""
    canvas = Image.new('L', (width, height))
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        # PIL puts pixel centres on integer coordinates.
        draw.polygon((polygon - 0.5).ravel().tolist(), fill=1)
    return np.asarray(canvas) > 0


def _unit_shape(rng: np.random.Generator, shape: str) -> np.ndarray:
    if shape == 'blob':
        corners = int(rng.integers(6, 12))
        return _regular_polygon(corners, rng.uniform(0.5, 1.0, corners))
    return _UNIT_SHAPES[shape]


class _Item(NamedTuple):
    """Something to paint: its full (unoccluded) mask relative to its centre and its look."""
    label: int
    crowd: bool
    mask: np.ndarray  # bool, full shape
    offset: Tuple[int, int]  # mask origin relative to the centre
    frame: Tuple[float, float, float]  # (sx, sy, angle) of the texture frame
    appearance: _Appearance
    centre: Optional[Tuple[int, int]]  # fixed position, or None to sample one


def _make_item(rng: np.random.Generator,
               label: int,
               style: ClassStyle,
               diameter: float,
               max_angle: float,
               members: int = 1,
               centre: Optional[Tuple[int, int]] = None) -> _Item:
    """Shapes an instance of ``style`` with per-instance jitter.

    Args:
        diameter (float): Geometric mean of the width and height before rotation, pixels.
        max_angle (float): Largest rotation, radians.
        members (int): More than one makes a crowd: that many small copies scattered within
            about two diameters, painted and annotated as one region.
        centre (tuple[int], optional): Fixed position instead of a sampled one.
    """
    polygons = []
    for _ in range(members):
        aspect = style.aspect * 2**rng.uniform(-0.3, 0.3)
        sx = diameter / 2 * math.sqrt(aspect)
        sy = diameter / 2 / math.sqrt(aspect)
        angle = rng.uniform(-max_angle, max_angle)
        cos, sin = math.cos(angle), math.sin(angle)
        scaled = _unit_shape(rng, style.shape) * (sx, sy)
        shift = rng.uniform(-diameter, diameter, 2) if members > 1 else 0.0
        polygons.append(scaled @ np.array([[cos, sin], [-sin, cos]]) + shift)
    # A crowd's texture spans the group with the scale of one member.
    frame = (sx, sy, angle) if members == 1 else (diameter / 2,
                                                  diameter / 2, 0.0)
    points = np.concatenate(polygons)
    origin = np.floor(points.min(0)).astype(int)
    size = np.ceil(points.max(0)).astype(int) - origin + 1
    mask = _rasterize([p - origin for p in polygons], int(size[0]),
                      int(size[1]))
    return _Item(label, members > 1, mask, (int(origin[0]), int(origin[1])),
                 frame, _appearance(rng, style), centre)


def _clip_to_image(item: _Item, cx: int, cy: int, width: int, height: int
                   ) -> Optional[Tuple[Tuple[int, int, int, int], np.ndarray]]:
    """In-image box of ``item`` centred at ``(cx, cy)`` and its mask inside that box, or
    None when it lies entirely outside the image."""
    ox, oy = cx + item.offset[0], cy + item.offset[1]
    mask_h, mask_w = item.mask.shape
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + mask_w, width), min(oy + mask_h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1), item.mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]


class _Placed(NamedTuple):
    item: _Item
    box: Tuple[int, int, int, int]  # in-image extent of the full mask
    truncated: bool


def _paint_items(rng: np.random.Generator,
                 image: np.ndarray,
                 items: Sequence[_Item],
                 min_visible: float,
                 max_tries: int = 20) -> Tuple[np.ndarray, List[_Placed]]:
    """Paints items in order (later ones on top) where every item stays visible enough.

    An item with a free position tries up to ``max_tries`` random centres and is dropped if
    none keeps its own and every earlier item's visible part at ``min_visible`` of the full
    area or more.

    Returns:
        tuple: int16 ``owner`` map (index into the placed list, -1 where nothing is) and the
        placed items.
    """
    height, width = image.shape[:2]
    owner = np.full((height, width), -1, np.int16)
    placed: List[_Placed] = []
    areas = np.zeros(len(items))
    visible = np.zeros(len(items))
    for item in items:
        area = item.mask.sum()
        tries = 1 if item.centre is not None else max_tries
        for _ in range(tries):
            if item.centre is None:
                cx, cy = int(rng.integers(width)), int(rng.integers(height))
            else:
                cx, cy = item.centre
            clipped = _clip_to_image(item, cx, cy, width, height)
            if clipped is None:
                continue
            box, sub = clipped
            x0, y0, x1, y1 = box
            inside = sub.sum()
            if inside == 0 or inside < min_visible * area:
                continue
            covered = owner[y0:y1, x0:x1][sub]
            num = len(placed)
            lost = np.bincount(covered[covered >= 0], minlength=num)
            if np.any(visible[:num] - lost < min_visible * areas[:num]):
                continue
            owner[y0:y1, x0:x1][sub] = num
            visible[:num] -= lost
            visible[num], areas[num] = inside, area
            frame = (cx, cy) + item.frame
            np.copyto(image[y0:y1, x0:x1],
                      _colours(rng, item.appearance, frame, box),
                      where=sub[..., None])
            placed.append(_Placed(item, box, bool(inside < area)))
            break
    return owner, placed


def _background(rng: np.random.Generator, height: int, width: int,
                num_blobs: Tuple[int, int]) -> np.ndarray:
    """Gradient + low-frequency colour noise + translucent textured blobs, float32 RGB."""
    low = _hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.9))
    high = _hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.9))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.arange(width, dtype=np.float32)[None, :] * math.cos(angle) +
            np.arange(height, dtype=np.float32)[:, None] * math.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    image = low + (high - low) * ramp[..., None]
    grid = rng.integers(0, 256, (int(rng.integers(3, 8)),
                                 int(rng.integers(3, 8)), 3), np.uint8)
    smooth = Image.fromarray(grid).resize((width, height), Image.BILINEAR)
    image += (np.asarray(smooth, np.float32) - 128) * 0.3
    short = min(height, width)
    for _ in range(int(rng.integers(num_blobs[0], num_blobs[1] + 1))):
        style = _random_style(rng)
        item = _make_item(rng, -1, style, short * rng.uniform(0.15, 0.6),
                          np.pi)
        cx, cy = int(rng.integers(width)), int(rng.integers(height))
        clipped = _clip_to_image(item, cx, cy, width, height)
        if clipped is None:
            continue
        (x0, y0, x1, y1), sub = clipped
        colours = _colours(rng, item.appearance, (cx, cy) + item.frame,
                           (x0, y0, x1, y1))
        region = image[y0:y1, x0:x1]
        # Translucent, so that blobs read as background rather than as objects.
        alpha = rng.uniform(0.15, 0.35)
        region[sub] += alpha * (colours[sub] - region[sub])
    return image


def _finish(rng: np.random.Generator, image: np.ndarray,
            noise: float) -> np.ndarray:
    image += rng.standard_normal(image.shape, np.float32) * noise
    return np.clip(image, 0, 255).astype(np.uint8)


def render_scene(rng: np.random.Generator,
                 height: int,
                 width: int,
                 styles: Sequence[ClassStyle],
                 difficulty: str = 'easy',
                 crowd_prob: float = 0.0) -> Scene:
    """Renders one object-detection scene (the VOC and COCO content).

    Args:
        rng (np.random.Generator): Source of all randomness of this image.
        height (int): Image height.
        width (int): Image width.
        styles (Sequence[ClassStyle]): Identity of each class; labels index it.
        difficulty (str): ``'easy'`` or ``'hard'``.
        crowd_prob (float): Probability of adding one crowd (COCO ``iscrowd=1``) group.

    Returns:
        Scene: The image, its instance map and the annotated objects.
    """
    cfg = _DIFFICULTY[difficulty]
    image = _background(rng, height, width, cfg.num_blobs)
    short = min(height, width)

    def diameter(scale=1.0):
        low, high = cfg.size
        return short * scale * math.exp(
            rng.uniform(math.log(low), math.log(high)))

    items = []
    for _ in range(int(rng.integers(cfg.num_objects[0],
                                    cfg.num_objects[1] + 1))):
        label = int(rng.integers(len(styles)))
        items.append(_make_item(rng, label, styles[label], diameter(),
                                np.pi / 6))
    for _ in range(int(rng.integers(cfg.num_distractors[0],
                                    cfg.num_distractors[1] + 1))):
        items.append(_make_item(rng, -1, _random_style(rng), diameter(),
                                np.pi))
    if rng.random() < crowd_prob:
        label = int(rng.integers(len(styles)))
        items.append(_make_item(rng, label, styles[label], diameter(0.4),
                                np.pi / 6, members=int(rng.integers(4, 9))))
    # Painter's order: crowds (far away) first, then by increasing area; see module doc.
    items.sort(key=lambda it: (not it.crowd, int(it.mask.sum())))
    owner, placed = _paint_items(rng, image, items, cfg.min_visible)

    objects, lut = [], np.zeros(len(placed) + 1, np.int16)
    for k, (item, (x0, y0, x1, y1), truncated) in enumerate(placed):
        if item.label < 0:
            continue
        visible = owner[y0:y1, x0:x1] == k
        rows, cols = np.flatnonzero(visible.any(1)), np.flatnonzero(
            visible.any(0))
        box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1,
               y0 + int(rows[-1]) + 1)
        mask = visible[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        objects.append(SceneObject(item.label, item.crowd, truncated, box,
                                   mask))
        lut[k + 1] = len(objects)
    return Scene(_finish(rng, image, cfg.noise), lut[owner + 1], objects)


def render_street(rng: np.random.Generator,
                  height: int,
                  width: int,
                  difficulty: str = 'easy'
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renders one Cityscapes-like street scene.

    Sky on top, a skyline of buildings with trees, walls and fences down to the horizon, a road
    in perspective flanked by sidewalk and terrain, poles carrying traffic signs and lights,
    things (people, riders, vehicles) standing on the ground with size growing towards the
    bottom and painted far to near, 'static' clutter in ``hard`` and sometimes the ego
    vehicle's bonnet at the bottom.

    Args:
        rng (np.random.Generator): Source of all randomness of this image.
        height (int): Image height.
        width (int): Image width.
        difficulty (str): ``'easy'`` (1-4 large things) or ``'hard'`` (5-15 things, smaller
            on average, plus 2-6 ignored clutter objects).

    Returns:
        tuple[np.ndarray]: RGB uint8 image, uint8 labelIds and uint16 instanceIds maps
        (``labelId * 1000 + index`` on things, the labelId elsewhere).
    """
    cfg = _DIFFICULTY[difficulty]
    image = np.zeros((height, width, 3), np.float32)
    labels = np.zeros((height, width), np.uint8)

    def stuff(label_id, polygons, frame=None):
        """Paints a stuff region (union of polygons) with its class look and labelId."""
        points = np.concatenate(polygons)
        x0, y0 = (max(int(v), 0) for v in np.floor(points.min(0)))
        x1, y1 = (min(int(v) + 1, limit)
                  for v, limit in zip(np.ceil(points.max(0)), (width, height)))
        if x0 >= x1 or y0 >= y1:
            return
        mask = _rasterize([p - (x0, y0) for p in polygons], x1 - x0, y1 - y0)
        if frame is None:
            frame = ((x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1),
                     max((y1 - y0) / 2, 1), 0.0)
        appearance = _appearance(rng, _STREET_STYLES[label_id], 0.06)
        np.copyto(image[y0:y1, x0:x1],
                  _colours(rng, appearance, frame, (x0, y0, x1, y1)),
                  where=mask[..., None])
        labels[y0:y1, x0:x1][mask] = label_id

    def rect(x0, y0, x1, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)

    horizon = int(height * rng.uniform(0.38, 0.5))
    ground = height - horizon
    vanish = width * rng.uniform(0.35, 0.65)
    stuff(23, [rect(0, 0, width, horizon + 1)])
    x = -width * rng.uniform(0, 0.05)
    while x < width:
        building_w = width * rng.uniform(0.08, 0.25)
        if rng.random() < 0.8:
            stuff(11, [rect(x, horizon * rng.uniform(0.05, 0.75),
                            x + building_w, horizon + 1)])
        x += building_w
    if rng.random() < 0.4:
        x = width * rng.uniform(0, 0.8)
        stuff(12, [rect(x, horizon - height * rng.uniform(0.03, 0.08),
                        x + width * rng.uniform(0.1, 0.3), horizon + 2)])
    for _ in range(int(rng.integers(1, 5))):
        radius = width * rng.uniform(0.05, 0.14)
        x, y = width * rng.random(), horizon * rng.uniform(0.3, 0.95)
        trunk = radius * 0.08
        # Trunks are vegetation too in Cityscapes.
        stuff(21, [_unit_shape(rng, 'blob') * radius + (x, y),
                   rect(x - trunk, y, x + trunk, horizon + 2)])

    stuff(8, [rect(0, horizon, width, height)])
    for side in (0, width):
        if rng.random() < 0.6:
            reach = width * rng.uniform(0.1, 0.3) * (1 if side == 0 else -1)
            stuff(22, [np.array([[side, horizon], [side + reach, horizon],
                                 [side, horizon + ground *
                                  rng.uniform(0.2, 0.5)]])])
    if rng.random() < 0.4:
        x = width * rng.uniform(0, 0.7)
        top = horizon - height * rng.uniform(0.04, 0.1)
        stuff(13, [rect(x, top, x + width * rng.uniform(0.1, 0.3),
                        horizon + 0.3 * (horizon - top))])
    road_half_top = width * rng.uniform(0.01, 0.05)
    road_left = width * rng.uniform(-0.3, 0.15)
    road_right = width * rng.uniform(0.85, 1.3)
    stuff(7, [np.array([[vanish - road_half_top, horizon],
                        [vanish + road_half_top, horizon],
                        [road_right, height], [road_left, height]])])
    # Dashed centre line: painted on the road and labelled road, as in Cityscapes.
    middle = (road_left + road_right) / 2
    dashes = []
    for i in range(8):
        dash = []
        for t, side in ((i / 8, -1), ((i + 0.5) / 8, -1), ((i + 0.5) / 8, 1),
                        (i / 8, 1)):
            half = 0.5 + t * 0.012 * width
            dash.append((vanish + t * (middle - vanish) + side * half,
                         horizon + t * ground))
        dashes.append(np.array(dash))
    marking = _rasterize(dashes, width, height) & (labels == 7)
    image[marking] = _hsv(0.15, 0.1, rng.uniform(0.75, 0.95))

    def road_span(y):
        t = (y - horizon) / ground
        return (vanish - road_half_top + t * (road_left - vanish +
                                             road_half_top),
                vanish + road_half_top + t * (road_right - vanish -
                                             road_half_top))

    def perspective(y):
        """Scale of something standing at row ``y``: 1 at the bottom, small at the horizon."""
        return 0.15 + 0.85 * (y - horizon) / ground

    num_poles = rng.integers(1, 4) if difficulty == 'easy' else rng.integers(2, 7)
    for _ in range(int(num_poles)):
        base = horizon + ground * rng.uniform(0.05, 0.9)
        left, right = road_span(base)
        x = (rng.uniform(0, max(left, 1)) if rng.random() < 0.5 else
             rng.uniform(min(right, width - 1), width))
        scale = perspective(base)
        pole_w = max(2.0, 0.012 * width * scale)
        top = base - height * scale * rng.uniform(0.5, 0.8)
        stuff(17, [rect(x - pole_w / 2, top, x + pole_w / 2, base)])
        if rng.random() < 0.7:
            label_id = 20 if rng.random() < 0.6 else 19
            style = _STREET_STYLES[label_id]
            size = max(5.0, 0.07 * height * scale)
            sx, sy = (size * math.sqrt(style.aspect) / 2,
                      size / math.sqrt(style.aspect) / 2)
            frame = (x, top, sx, sy, 0.0)
            stuff(label_id, [_UNIT_SHAPES[style.shape] * (sx, sy) + (x, top)],
                  frame=frame)

    def standing_item(label_id, style, base):
        left, right = road_span(base)
        if label_id in _VEHICLES:
            x = rng.uniform(max(left, 0), min(right, width))
        else:
            x = rng.uniform(0, width)
        thing_h = (_THINGS.get(label_id, (0.2, ))[0] * height *
                   perspective(base) * rng.uniform(0.85, 1.15))
        return _make_item(rng, label_id, style,
                          thing_h * math.sqrt(style.aspect), np.pi / 45,
                          centre=(int(x), int(base - thing_h / 2)))

    things = tuple(_THINGS)
    frequency = np.array([f for _, f in _THINGS.values()])
    low = 0.4 if difficulty == 'easy' else 0.05
    items = []
    for _ in range(int(rng.integers(cfg.num_objects[0],
                                    cfg.num_objects[1] + 1))):
        label_id = things[rng.choice(len(things), p=frequency / frequency.sum())]
        items.append((horizon + ground * rng.uniform(low, 1.0), label_id))
    for _ in range(int(rng.integers(cfg.num_distractors[0],
                                    cfg.num_distractors[1] + 1))):
        items.append((horizon + ground * rng.uniform(0.05, 1.0), _STATIC))
    # Far (higher up) things first so that nearer ones occlude them.
    items.sort()
    items = [
        standing_item(label_id,
                      _random_style(rng) if label_id == _STATIC else
                      _STREET_STYLES[label_id], base)
        for base, label_id in items
    ]
    owner, placed = _paint_items(rng, image, items, 0.0)
    # The trailing 0 is what owner -1 (no item) indexes; copyto leaves those pixels alone.
    item_labels = np.array([p.item.label for p in placed] + [0], np.uint8)
    np.copyto(labels, item_labels[owner], where=owner >= 0)

    if rng.random() < 0.4:
        hood = ground * rng.uniform(0.08, 0.15)
        xs = np.linspace(0, width, 17)
        curve = height - hood * (1 - 0.5 * ((xs - width / 2) /
                                            (width / 2))**2)
        stuff(_EGO_VEHICLE, [np.concatenate([
            np.stack([xs, curve], 1), [[width, height], [0, height]]])])

    instance_ids = labels.astype(np.uint16)
    counts: Dict[int, int] = {}
    for k, (item, (x0, y0, x1, y1), _) in enumerate(placed):
        if item.label == _STATIC:
            continue
        index = counts.get(item.label, 0)
        counts[item.label] = index + 1
        # The ego vehicle may have covered part of the thing since.
        visible = ((owner[y0:y1, x0:x1] == k) &
                   (labels[y0:y1, x0:x1] == item.label))
        instance_ids[y0:y1, x0:x1][visible] = item.label * 1000 + index
    return _finish(rng, image, cfg.noise), labels, instance_ids


def mask_to_polygons(mask: np.ndarray) -> List[np.ndarray]:
    """Traces the outer boundaries of a binary mask along pixel edges.

    Pixels are unit squares with integer corners, so the polygons are exact: they enclose
    exactly the mask's pixels (pycocotools rasterises them back to the same mask) and their
    area is the pixel count. Diagonally touching pixels become separate polygons
    (4-connectivity). Holes are not traced; COCO polygons cannot express them.

    Args:
        mask (np.ndarray): Bool array of shape ``(H, W)``.

    Returns:
        list[np.ndarray]: ``(N, 2)`` int arrays of ``(x, y)`` corners, clockwise on screen,
        collinear corners removed.
    """
    height, width = mask.shape
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1]
    stride = width + 1
    # (outside neighbour, start corner, end corner) of the edges of each side of a pixel,
    # walking clockwise on screen: top, right, bottom, left.
    sides = ((padded[:-2, 1:-1], (0, 0), (1, 0)),
             (padded[1:-1, 2:], (1, 0), (1, 1)),
             (padded[2:, 1:-1], (1, 1), (0, 1)),
             (padded[1:-1, :-2], (0, 1), (0, 0)))
    starts, ends, pixels = [], [], []
    for neighbour, (sx, sy), (ex, ey) in sides:
        ys, xs = np.nonzero(inside & ~neighbour)
        starts.append((ys + sy) * stride + xs + sx)
        ends.append((ys + ey) * stride + xs + ex)
        pixels.append(ys * width + xs)
    start, end, pixel = (np.concatenate(a) for a in (starts, ends, pixels))
    if not len(start):
        return []
    order = np.argsort(start, kind='stable')
    first = np.searchsorted(start[order], end)
    second = np.minimum(first + 1, len(order) - 1)
    # Where two pixels touch only diagonally, a corner has two outgoing edges: keep walking
    # around the same pixel so that the two pixels end up in different polygons.
    saddle = (start[order[second]] == end) & (second != first)
    succ = np.where(saddle & (pixel[order[first]] != pixel), order[second],
                    order[first]).tolist()
    seen = bytearray(len(succ))
    polygons = []
    for first_edge in range(len(succ)):
        cycle = []
        edge = first_edge
        while not seen[edge]:
            seen[edge] = 1
            cycle.append(edge)
            edge = succ[edge]
        if not cycle:
            continue
        cycle = np.array(cycle)
        step = end[cycle] - start[cycle]
        corners = start[cycle][step != np.roll(step, 1)]
        xs, ys = corners % stride, corners // stride
        # Outer boundaries run clockwise on screen (positive shoelace area), holes the other way.
        if np.dot(xs, np.roll(ys, -1)) - np.dot(np.roll(xs, -1), ys) > 0:
            polygons.append(np.stack([xs, ys], 1))
    return polygons


def mask_to_rle(mask: np.ndarray) -> dict:
    """Uncompressed COCO RLE (column-major run lengths, starting with background)."""
    flat = mask.ravel(order='F').astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return dict(counts=counts, size=list(mask.shape))


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

_OUTPUTS = dict(
    voc=('VOCdevkit', ),
    coco=('train2017', 'val2017', 'annotations/instances_train2017.json',
          'annotations/instances_val2017.json'),
    cityscapes=('leftImg8bit', 'gtFine'))


def _check_args(num_train: int, num_val: int, seed: int, difficulty: str,
                img_size: Optional[Tuple[int, int]]):
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive integer, got {value!r}')
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    if difficulty not in DIFFICULTIES:
        raise ValueError(
            f'difficulty must be one of {DIFFICULTIES}, got {difficulty!r}')
    if img_size is not None and (len(img_size) != 2
                                 or min(img_size) < MIN_IMG_SIDE):
        raise ValueError('img_size must be (height, width), both at least '
                         f'{MIN_IMG_SIDE}, got {img_size!r}')


def _prepare_out_dir(out_dir: Union[str, Path], fmt: str,
                     overwrite: bool) -> Path:
    """Refuses a non-empty ``out_dir`` unless ``overwrite``; then removes only the paths this
    format writes (listed in ``_OUTPUTS``) so no stale image lingers, and keeps the rest."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f'out_dir {str(out)!r} exists and is not a '
                              'directory')
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f'out_dir {str(out)!r} exists and is not empty; refusing to '
                'write into it unless overwrite is set (--overwrite)')
        for rel in _OUTPUTS[fmt]:
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
    return np.random.default_rng([seed, zlib.crc32(tag.encode()), index])


def _image_size(rng: np.random.Generator,
                img_size: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    if img_size is not None:
        return int(img_size[0]), int(img_size[1])
    low, high = VARIED_SIZE_RANGE
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def _run_split(tag: str, count: int, seed: int,
               write_one: Callable[[int, np.random.Generator], int]) -> dict:
    """Calls ``write_one(index, rng)`` for each image (it returns its object count), logging
    progress, and returns the split's stats."""
    start = time.perf_counter()
    objects = 0
    for index in range(count):
        objects += write_one(index, _image_rng(seed, tag, index))
        if (index + 1) % _LOG_INTERVAL == 0 or index + 1 == count:
            logger.info('%s: %d/%d images', tag, index + 1, count)
    return dict(images=count, objects=objects,
                seconds=time.perf_counter() - start)


def _write_lines(path: Path, lines: Sequence[str]):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))


def _voc_palette() -> List[int]:
    """The PASCAL VOC colour map (bit-interleaved label index), flat RGB x 256."""
    palette = []
    for label in range(256):
        rgb, code = [0, 0, 0], label
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((code >> channel) & 1) << (7 - bit)
            code >>= 3
        palette.extend(rgb)
    return palette


_VOC_PALETTE = _voc_palette()
_VOID = 255


def _voc_xml(year: str, stem: str, scene: Scene) -> str:
    height, width = scene.image.shape[:2]
    root = ET.Element('annotation')

    def add(parent, tag, text=None):
        node = ET.SubElement(parent, tag)
        if text is not None:
            node.text = str(text)
        return node

    add(root, 'folder', f'VOC{year}')
    add(root, 'filename', f'{stem}.jpg')
    source = add(root, 'source')
    add(source, 'database', f'The VOC{year} Database')
    add(source, 'annotation', f'PASCAL VOC{year}')
    add(source, 'image', 'skd_det synthetic')
    size = add(root, 'size')
    add(size, 'width', width)
    add(size, 'height', height)
    add(size, 'depth', 3)
    add(root, 'segmented', 1)
    for obj in scene.objects:
        node = add(root, 'object')
        add(node, 'name', VOC_CLASSES[obj.label])
        add(node, 'pose', 'Unspecified')
        add(node, 'truncated', int(obj.truncated))
        add(node, 'difficult', 0)
        box = add(node, 'bndbox')
        # VOC corners are 1-based and inclusive: pixel columns x0..x1-1 -> x0+1..x1.
        x0, y0, x1, y1 = obj.box
        for tag, value in (('xmin', x0 + 1), ('ymin', y0 + 1), ('xmax', x1),
                           ('ymax', y1)):
            add(box, tag, value)
    ET.indent(root, '\t')
    return ET.tostring(root, encoding='unicode') + '\n'


def _voc_class_map(scene: Scene, outline: bool) -> np.ndarray:
    """Class index map (0 background, 1..20), optionally with VOC's void (255) outline on the
    inner border of every object."""
    lut = np.array([0] + [obj.label + 1 for obj in scene.objects], np.uint8)
    classes = lut[scene.instances]
    if outline:
        inst = scene.instances
        edge = np.zeros(inst.shape, bool)
        edge[1:] |= inst[1:] != inst[:-1]
        edge[:-1] |= inst[:-1] != inst[1:]
        edge[:, 1:] |= inst[:, 1:] != inst[:, :-1]
        edge[:, :-1] |= inst[:, :-1] != inst[:, 1:]
        classes[edge & (inst > 0)] = _VOID
    return classes


def generate_voc(out_dir: Union[str, Path],
                 num_train: int = 200,
                 num_val: int = 50,
                 seed: int = 0,
                 difficulty: str = 'easy',
                 img_size: Optional[Tuple[int, int]] = None,
                 overwrite: bool = False) -> dict:
    """Writes a PASCAL VOC style ``VOCdevkit`` with VOC2007 and VOC2012.

    Each year gets ``num_train`` train and ``num_val`` val images (``trainval`` = both);
    VOC2007 also gets a held-out ``test`` split of ``num_val`` further images, disjoint from
    trainval as in the real VOC2007, so the VOC07+12 recipe (train on both trainvals, test on
    VOC2007 test) neither fails nor leaks. Every image has detection and segmentation
    annotations, so the ``Main`` and ``Segmentation`` image sets list the same ids. Layout::

        VOCdevkit/VOC2007/{JPEGImages/000001.jpg, Annotations/000001.xml,
                           SegmentationClass/000001.png,
                           ImageSets/{Main,Segmentation}/{train,val,trainval,test}.txt}
        VOCdevkit/VOC2012/{JPEGImages/2012_000001.jpg, Annotations, SegmentationClass,
                           SegmentationClassAug/2012_000001.png,
                           ImageSets/{Main,Segmentation}/{train,val,trainval}.txt,
                           ImageSets/Segmentation/aug.txt}

    ``SegmentationClass`` PNGs are palette images with VOC's colour map: 0 background, 1-20
    classes, 255 on a one-pixel void outline inside each object's border. The SBD-derived
    ``SegmentationClassAug`` maps (mmseg's VOC aug convention) are single-channel class
    indices without outline, for train and val images; ``aug.txt`` lists the train ids, i.e.
    every id except val ones.

    Args:
        out_dir (str | Path): Dataset root (the folder that holds ``VOCdevkit``).
        num_train (int): Train images per year.
        num_val (int): Val images per year (and VOC2007 test images).
        seed (int): Random seed.
        difficulty (str): ``'easy'`` or ``'hard'``.
        img_size (tuple[int], optional): Fixed ``(height, width)``; by default every image
            gets sides drawn from ``VARIED_SIZE_RANGE``.
        overwrite (bool): Allow a non-empty ``out_dir``; its ``VOCdevkit`` is replaced.

    Returns:
        dict: ``splits`` (per ``VOC<year>/<split>``: images, objects, seconds) and total
        ``seconds``.
    """
    _check_args(num_train, num_val, seed, difficulty, img_size)
    out = _prepare_out_dir(out_dir, 'voc', overwrite)
    start = time.perf_counter()
    splits = {}
    for year in ('2007', '2012'):
        root = out / 'VOCdevkit' / f'VOC{year}'
        folders = ['JPEGImages', 'Annotations', 'SegmentationClass']
        if year == '2012':
            folders.append('SegmentationClassAug')
        for folder in folders:
            (root / folder).mkdir(parents=True)
        stem_format = '{:06d}' if year == '2007' else '2012_{:06d}'
        counts = [('train', num_train), ('val', num_val)]
        if year == '2007':
            counts.append(('test', num_val))
        ids: Dict[str, List[str]] = {}
        next_id = 1
        for split, count in counts:
            ids[split] = [stem_format.format(next_id + i) for i in range(count)]
            next_id += count

            def write_one(index, rng, split=split, year=year, root=root):
                stem = ids[split][index]
                height, width = _image_size(rng, img_size)
                scene = render_scene(rng, height, width, _VOC_STYLES,
                                     difficulty)
                Image.fromarray(scene.image).save(
                    root / 'JPEGImages' / f'{stem}.jpg', quality=90)
                (root / 'Annotations' / f'{stem}.xml').write_text(
                    _voc_xml(year, stem, scene))
                label_png = Image.fromarray(_voc_class_map(scene, True))
                label_png.putpalette(_VOC_PALETTE)
                label_png.save(root / 'SegmentationClass' / f'{stem}.png')
                if year == '2012':
                    Image.fromarray(_voc_class_map(scene, False)).save(
                        root / 'SegmentationClassAug' / f'{stem}.png')
                return len(scene.objects)

            splits[f'VOC{year}/{split}'] = _run_split(f'voc/VOC{year}/{split}',
                                                      count, seed, write_one)
        ids['trainval'] = ids['train'] + ids['val']
        for image_set in ('Main', 'Segmentation'):
            for split, lines in ids.items():
                _write_lines(root / 'ImageSets' / image_set / f'{split}.txt',
                             lines)
        if year == '2012':
            _write_lines(root / 'ImageSets' / 'Segmentation' / 'aug.txt',
                         ids['train'])
    return dict(splits=splits, seconds=time.perf_counter() - start)


def _coco_annotation(obj: SceneObject, ann_id: int, image_id: int,
                     height: int, width: int) -> dict:
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
        bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
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
    _check_args(num_train, num_val, seed, difficulty, img_size)
    out = _prepare_out_dir(out_dir, 'coco', overwrite)
    (out / 'annotations').mkdir(exist_ok=True)
    start = time.perf_counter()
    splits = {}
    first_image_id, first_ann_id = 1, 1
    for split, count in (('train2017', num_train), ('val2017', num_val)):
        (out / split).mkdir()
        images, annotations = [], []

        def write_one(index, rng, split=split, images=images,
                      annotations=annotations, first_id=first_image_id,
                      first_ann=first_ann_id):
            image_id = first_id + index
            file_name = f'{image_id:012d}.jpg'
            height, width = _image_size(rng, img_size)
            scene = render_scene(rng, height, width, _COCO_STYLES, difficulty,
                                 crowd_prob=0.1)
            Image.fromarray(scene.image).save(out / split / file_name,
                                              quality=90)
            images.append(
                dict(license=1, file_name=file_name, coco_url='',
                     height=height, width=width,
                     date_captured='2017-01-01 00:00:00', flickr_url='',
                     id=image_id))
            ann_id = first_ann + len(annotations)
            annotations.extend(
                _coco_annotation(obj, ann_id + i, image_id, height, width)
                for i, obj in enumerate(scene.objects))
            return len(scene.objects)

        splits[split] = _run_split(f'coco/{split}', count, seed, write_one)
        first_image_id += count
        first_ann_id += len(annotations)
        dataset = dict(
            info=dict(description='skd_det synthetic dataset in COCO format',
                      url='', version='1.0', year=2017,
                      contributor='skd_det', date_created='2017/01/01'),
            licenses=[dict(url='', id=1, name='synthetic, no restrictions')],
            images=images,
            annotations=annotations,
            categories=[dict(c) for c in COCO_CATEGORIES])
        with open(out / 'annotations' / f'instances_{split}.json', 'w') as f:
            json.dump(dataset, f)
    return dict(splits=splits, seconds=time.perf_counter() - start)


_CITIES = dict(train=('aachen', 'bochum', 'bremen'),
               val=('frankfurt', 'lindau', 'munster'))
_TRAIN_ID_LUT = np.full(256, _VOID, np.uint8)
_TRAIN_ID_LUT[list(CITYSCAPES_LABEL_IDS)] = np.arange(
    len(CITYSCAPES_LABEL_IDS))


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
    _check_args(num_train, num_val, seed, difficulty, img_size)
    height, width = img_size or DEFAULT_CITYSCAPES_SIZE
    out = _prepare_out_dir(out_dir, 'cityscapes', overwrite)
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
            image, label_ids, instance_ids = render_street(
                rng, height, width, difficulty)
            # Fast zlib level for the noisy photo; label maps compress well anyway.
            Image.fromarray(image).save(
                out / 'leftImg8bit' / split / city / f'{stem}_leftImg8bit.png',
                compress_level=1)
            gt = out / 'gtFine' / split / city
            Image.fromarray(label_ids).save(gt / f'{stem}_gtFine_labelIds.png')
            Image.fromarray(_TRAIN_ID_LUT[label_ids]).save(
                gt / f'{stem}_gtFine_labelTrainIds.png')
            Image.fromarray(instance_ids).save(
                gt / f'{stem}_gtFine_instanceIds.png')
            return len(np.unique(instance_ids[instance_ids >= 1000]))

        splits[split] = _run_split(f'cityscapes/{split}', count, seed,
                                   write_one)
    return dict(splits=splits, seconds=time.perf_counter() - start)
