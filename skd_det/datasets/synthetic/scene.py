# Copyright (c) skd_det contributors.
"""Scene composition: shaping instances, painting them with occlusion control, backgrounds,
and the object scenes of the VOC and COCO datasets."""
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .styles import (Appearance, ClassStyle, hsv_colour, random_style, sample_appearance,
                     texture_colours, unit_shape)


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


class Difficulty(NamedTuple):
    """What a difficulty level draws (see the package docstring)."""
    num_objects: Tuple[int, int]  # inclusive range
    num_distractors: Tuple[int, int]
    size: Tuple[float, float]  # object diameter / shorter image side, log-uniform
    min_visible: float
    num_blobs: Tuple[int, int]  # translucent background blobs
    noise: float  # std of the per-pixel noise, 0-255 scale


DIFFICULTIES = ('easy', 'hard')
DIFFICULTY_SETTINGS = dict(
    easy=Difficulty((1, 4), (0, 0), (0.25, 0.6), 0.8, (2, 4), 4.0),
    hard=Difficulty((5, 15), (2, 6), (0.06, 0.3), 0.3, (6, 12), 9.0))


def rasterize(polygons: Sequence[np.ndarray], width: int, height: int) -> np.ndarray:
    """Bool mask of the union of polygons given in pixel-edge coordinates."""
    canvas = Image.new('L', (width, height))
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        # PIL puts pixel centres on integer coordinates.
        draw.polygon((polygon - 0.5).ravel().tolist(), fill=1)
    return np.asarray(canvas) > 0


class Item(NamedTuple):
    """Something to paint: its full (unoccluded) mask relative to its centre and its look."""
    label: int
    crowd: bool
    mask: np.ndarray  # bool, full shape
    offset: Tuple[int, int]  # mask origin relative to the centre
    frame: Tuple[float, float, float]  # (sx, sy, angle) of the texture frame
    appearance: Appearance
    centre: Optional[Tuple[int, int]]  # fixed position, or None to sample one


def make_item(rng: np.random.Generator,
              label: int,
              style: ClassStyle,
              diameter: float,
              max_angle: float,
              members: int = 1,
              centre: Optional[Tuple[int, int]] = None) -> Item:
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
        scaled = unit_shape(rng, style.shape) * (sx, sy)
        shift = rng.uniform(-diameter, diameter, 2) if members > 1 else 0.0
        polygons.append(scaled @ np.array([[cos, sin], [-sin, cos]]) + shift)
    # A crowd's texture spans the group with the scale of one member.
    frame = (sx, sy, angle) if members == 1 else (diameter / 2, diameter / 2, 0.0)
    points = np.concatenate(polygons)
    origin = np.floor(points.min(0)).astype(int)
    size = np.ceil(points.max(0)).astype(int) - origin + 1
    mask = rasterize([p - origin for p in polygons], int(size[0]), int(size[1]))
    return Item(label, members > 1, mask, (int(origin[0]), int(origin[1])), frame,
                sample_appearance(rng, style), centre)


def _clip_to_image(item: Item, cx: int, cy: int, width: int,
                   height: int) -> Optional[Tuple[Tuple[int, int, int, int], np.ndarray]]:
    """In-image box of ``item`` centred at ``(cx, cy)`` and its mask inside that box, or
    None when it lies entirely outside the image."""
    ox, oy = cx + item.offset[0], cy + item.offset[1]
    mask_h, mask_w = item.mask.shape
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + mask_w, width), min(oy + mask_h, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return (x0, y0, x1, y1), item.mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]


class Placed(NamedTuple):
    """An item where :func:`paint_items` put it."""
    item: Item
    box: Tuple[int, int, int, int]  # in-image extent of the full mask
    truncated: bool


def paint_items(rng: np.random.Generator,
                image: np.ndarray,
                items: Sequence[Item],
                min_visible: float,
                max_tries: int = 20) -> Tuple[np.ndarray, List[Placed]]:
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
    placed: List[Placed] = []
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
            np.copyto(
                image[y0:y1, x0:x1],
                texture_colours(rng, item.appearance, frame, box),
                where=sub[..., None])
            placed.append(Placed(item, box, bool(inside < area)))
            break
    return owner, placed


def _background(rng: np.random.Generator, height: int, width: int,
                num_blobs: Tuple[int, int]) -> np.ndarray:
    """Gradient + low-frequency colour noise + translucent textured blobs, float32 RGB."""
    low = hsv_colour(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.9))
    high = hsv_colour(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.3, 0.9))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (
        np.arange(width, dtype=np.float32)[None, :] * math.cos(angle) +
        np.arange(height, dtype=np.float32)[:, None] * math.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    image = low + (high - low) * ramp[..., None]
    grid = rng.integers(0, 256, (int(rng.integers(3, 8)), int(rng.integers(3, 8)), 3), np.uint8)
    smooth = Image.fromarray(grid).resize((width, height), Image.BILINEAR)
    image += (np.asarray(smooth, np.float32) - 128) * 0.3
    short = min(height, width)
    for _ in range(int(rng.integers(num_blobs[0], num_blobs[1] + 1))):
        style = random_style(rng)
        item = make_item(rng, -1, style, short * rng.uniform(0.15, 0.6), np.pi)
        cx, cy = int(rng.integers(width)), int(rng.integers(height))
        clipped = _clip_to_image(item, cx, cy, width, height)
        if clipped is None:
            continue
        (x0, y0, x1, y1), sub = clipped
        colours = texture_colours(rng, item.appearance, (cx, cy) + item.frame, (x0, y0, x1, y1))
        region = image[y0:y1, x0:x1]
        # Translucent, so that blobs read as background rather than as objects.
        alpha = rng.uniform(0.15, 0.35)
        region[sub] += alpha * (colours[sub] - region[sub])
    return image


def finish_image(rng: np.random.Generator, image: np.ndarray, noise: float) -> np.ndarray:
    """Adds per-pixel Gaussian noise of std ``noise`` and converts to uint8."""
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
    cfg = DIFFICULTY_SETTINGS[difficulty]
    image = _background(rng, height, width, cfg.num_blobs)
    short = min(height, width)

    def diameter(scale=1.0):
        low, high = cfg.size
        return short * scale * math.exp(rng.uniform(math.log(low), math.log(high)))

    items = []
    for _ in range(int(rng.integers(cfg.num_objects[0], cfg.num_objects[1] + 1))):
        label = int(rng.integers(len(styles)))
        items.append(make_item(rng, label, styles[label], diameter(), np.pi / 6))
    for _ in range(int(rng.integers(cfg.num_distractors[0], cfg.num_distractors[1] + 1))):
        items.append(make_item(rng, -1, random_style(rng), diameter(), np.pi))
    if rng.random() < crowd_prob:
        label = int(rng.integers(len(styles)))
        items.append(
            make_item(
                rng,
                label,
                styles[label],
                diameter(0.4),
                np.pi / 6,
                members=int(rng.integers(4, 9))))
    # Painter's order: crowds (far away) first, then by increasing area; see package doc.
    items.sort(key=lambda it: (not it.crowd, int(it.mask.sum())))
    owner, placed = paint_items(rng, image, items, cfg.min_visible)

    objects, lut = [], np.zeros(len(placed) + 1, np.int16)
    for k, (item, (x0, y0, x1, y1), truncated) in enumerate(placed):
        if item.label < 0:
            continue
        visible = owner[y0:y1, x0:x1] == k
        rows, cols = np.flatnonzero(visible.any(1)), np.flatnonzero(visible.any(0))
        box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
        mask = visible[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        objects.append(SceneObject(item.label, item.crowd, truncated, box, mask))
        lut[k + 1] = len(objects)
    return Scene(finish_image(rng, image, cfg.noise), lut[owner + 1], objects)
