# Copyright (c) skd_det contributors.
"""Cityscapes-like street scenes: stuff laid out in perspective, things standing on the
ground."""
import math
from typing import Dict, Tuple

import numpy as np

from .classes import (BICYCLE, BUILDING, BUS, CAR, EGO_VEHICLE, FENCE, MOTORCYCLE, PERSON, POLE,
                      RIDER, ROAD, SIDEWALK, SKY, STATIC, TERRAIN, TRAFFIC_LIGHT, TRAFFIC_SIGN,
                      TRAIN, TRUCK, VEGETATION, WALL)
from .scene import DIFFICULTY_SETTINGS, finish_image, make_item, paint_items, rasterize
from .styles import (UNIT_SHAPES, ClassStyle, hsv_colour, random_style, sample_appearance,
                     texture_colours, unit_shape)

# Street-plausible identities keyed by labelId.
_STREET_STYLES = {
    EGO_VEHICLE:
    ClassStyle('', 'gradient', 0.6, saturation=0.2, value=0.3),
    ROAD:
    ClassStyle('', 'speckle', 0.6, saturation=0.08, value=0.38),
    SIDEWALK:
    ClassStyle('', 'checker', 0.08, frequency=12, saturation=0.15, value=0.62),
    BUILDING:
    ClassStyle('', 'checker', 0.07, frequency=6, saturation=0.3, value=0.55),
    WALL:
    ClassStyle('', 'plain', 0.1, saturation=0.2, value=0.68),
    FENCE:
    ClassStyle('', 'stripes', 0.08, frequency=25, saturation=0.35, value=0.5),
    POLE:
    ClassStyle('', 'plain', 0.6, saturation=0.1, value=0.42),
    TRAFFIC_LIGHT:
    ClassStyle('rectangle', 'dots', 0.15, aspect=0.45, frequency=1.5, saturation=0.9, value=0.45),
    TRAFFIC_SIGN:
    ClassStyle('ellipse', 'rings', 0.0, frequency=1.5, saturation=0.85, value=0.85),
    VEGETATION:
    ClassStyle('', 'speckle', 0.3, saturation=0.6, value=0.45),
    TERRAIN:
    ClassStyle('', 'dots', 0.2, frequency=8, saturation=0.45, value=0.52),
    SKY:
    ClassStyle('', 'gradient', 0.58, saturation=0.35, value=0.92),
    PERSON:
    ClassStyle('ellipse', 'gradient', 0.95, aspect=0.4, frequency=2, saturation=0.6, value=0.6),
    RIDER:
    ClassStyle('pentagon', 'stripes', 0.75, aspect=0.55, frequency=3),
    CAR:
    ClassStyle('half_disc', 'plain', 0.62, aspect=2.2, frequency=2),
    TRUCK:
    ClassStyle('rectangle', 'checker', 0.12, aspect=1.5, frequency=3),
    BUS:
    ClassStyle('rectangle', 'stripes', 0.15, aspect=2.8, frequency=4, value=0.85),
    TRAIN:
    ClassStyle('hexagon', 'stripes', 0.5, aspect=4.0, frequency=6),
    MOTORCYCLE:
    ClassStyle('diamond', 'dots', 0.85, aspect=1.3, frequency=3),
    BICYCLE:
    ClassStyle('ellipse', 'rings', 0.3, aspect=1.6, frequency=3),
}
# Height of a thing at the bottom image row (fraction of the image height) and how often it
# occurs (people and cars dominate, as in Cityscapes).
_THINGS = {
    PERSON: (0.35, 0.3),
    RIDER: (0.38, 0.08),
    CAR: (0.3, 0.3),
    TRUCK: (0.36, 0.06),
    BUS: (0.38, 0.05),
    TRAIN: (0.4, 0.05),
    MOTORCYCLE: (0.25, 0.06),
    BICYCLE: (0.22, 0.1)
}
_VEHICLES = (CAR, TRUCK, BUS, TRAIN)  # kept on the road


def render_street(rng: np.random.Generator,
                  height: int,
                  width: int,
                  difficulty: str = 'easy') -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    cfg = DIFFICULTY_SETTINGS[difficulty]
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
        mask = rasterize([p - (x0, y0) for p in polygons], x1 - x0, y1 - y0)
        if frame is None:
            frame = ((x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1), max((y1 - y0) / 2,
                                                                              1), 0.0)
        appearance = sample_appearance(rng, _STREET_STYLES[label_id], 0.06)
        np.copyto(
            image[y0:y1, x0:x1],
            texture_colours(rng, appearance, frame, (x0, y0, x1, y1)),
            where=mask[..., None])
        labels[y0:y1, x0:x1][mask] = label_id

    def rect(x0, y0, x1, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)

    horizon = int(height * rng.uniform(0.38, 0.5))
    ground = height - horizon
    vanish = width * rng.uniform(0.35, 0.65)
    stuff(SKY, [rect(0, 0, width, horizon + 1)])
    x = -width * rng.uniform(0, 0.05)
    while x < width:
        building_w = width * rng.uniform(0.08, 0.25)
        if rng.random() < 0.8:
            stuff(BUILDING,
                  [rect(x, horizon * rng.uniform(0.05, 0.75), x + building_w, horizon + 1)])
        x += building_w
    if rng.random() < 0.4:
        x = width * rng.uniform(0, 0.8)
        stuff(WALL, [
            rect(x, horizon - height * rng.uniform(0.03, 0.08), x + width * rng.uniform(0.1, 0.3),
                 horizon + 2)
        ])
    for _ in range(int(rng.integers(1, 5))):
        radius = width * rng.uniform(0.05, 0.14)
        x, y = width * rng.random(), horizon * rng.uniform(0.3, 0.95)
        trunk = radius * 0.08
        # Trunks are vegetation too in Cityscapes.
        stuff(
            VEGETATION,
            [unit_shape(rng, 'blob') * radius + (x, y),
             rect(x - trunk, y, x + trunk, horizon + 2)])

    stuff(SIDEWALK, [rect(0, horizon, width, height)])
    for side in (0, width):
        if rng.random() < 0.6:
            reach = width * rng.uniform(0.1, 0.3) * (1 if side == 0 else -1)
            stuff(TERRAIN, [
                np.array([[side, horizon], [side + reach, horizon],
                          [side, horizon + ground * rng.uniform(0.2, 0.5)]])
            ])
    if rng.random() < 0.4:
        x = width * rng.uniform(0, 0.7)
        top = horizon - height * rng.uniform(0.04, 0.1)
        stuff(FENCE,
              [rect(x, top, x + width * rng.uniform(0.1, 0.3), horizon + 0.3 * (horizon - top))])
    road_half_top = width * rng.uniform(0.01, 0.05)
    road_left = width * rng.uniform(-0.3, 0.15)
    road_right = width * rng.uniform(0.85, 1.3)
    stuff(ROAD, [
        np.array([[vanish - road_half_top, horizon], [vanish + road_half_top, horizon],
                  [road_right, height], [road_left, height]])
    ])
    # Dashed centre line: painted on the road and labelled road, as in Cityscapes.
    middle = (road_left + road_right) / 2
    dashes = []
    for i in range(8):
        dash = []
        for t, side in ((i / 8, -1), ((i + 0.5) / 8, -1), ((i + 0.5) / 8, 1), (i / 8, 1)):
            half = 0.5 + t * 0.012 * width
            dash.append((vanish + t * (middle - vanish) + side * half, horizon + t * ground))
        dashes.append(np.array(dash))
    marking = rasterize(dashes, width, height) & (labels == ROAD)
    image[marking] = hsv_colour(0.15, 0.1, rng.uniform(0.75, 0.95))

    def road_span(y):
        t = (y - horizon) / ground
        return (vanish - road_half_top + t * (road_left - vanish + road_half_top),
                vanish + road_half_top + t * (road_right - vanish - road_half_top))

    def perspective(y):
        """Scale of something standing at row ``y``: 1 at the bottom, small at the horizon."""
        return 0.15 + 0.85 * (y - horizon) / ground

    num_poles = rng.integers(1, 4) if difficulty == 'easy' else rng.integers(2, 7)
    for _ in range(int(num_poles)):
        base = horizon + ground * rng.uniform(0.05, 0.9)
        left, right = road_span(base)
        x = (
            rng.uniform(0, max(left, 1)) if rng.random() < 0.5 else rng.uniform(
                min(right, width - 1), width))
        scale = perspective(base)
        pole_w = max(2.0, 0.012 * width * scale)
        top = base - height * scale * rng.uniform(0.5, 0.8)
        stuff(POLE, [rect(x - pole_w / 2, top, x + pole_w / 2, base)])
        if rng.random() < 0.7:
            label_id = TRAFFIC_SIGN if rng.random() < 0.6 else TRAFFIC_LIGHT
            style = _STREET_STYLES[label_id]
            size = max(5.0, 0.07 * height * scale)
            sx, sy = (size * math.sqrt(style.aspect) / 2, size / math.sqrt(style.aspect) / 2)
            frame = (x, top, sx, sy, 0.0)
            stuff(label_id, [UNIT_SHAPES[style.shape] * (sx, sy) + (x, top)], frame=frame)

    def standing_item(label_id, style, base):
        left, right = road_span(base)
        if label_id in _VEHICLES:
            x = rng.uniform(max(left, 0), min(right, width))
        else:
            x = rng.uniform(0, width)
        thing_h = (
            _THINGS.get(label_id,
                        (0.2, ))[0] * height * perspective(base) * rng.uniform(0.85, 1.15))
        return make_item(
            rng,
            label_id,
            style,
            thing_h * math.sqrt(style.aspect),
            np.pi / 45,
            centre=(int(x), int(base - thing_h / 2)))

    things = tuple(_THINGS)
    frequency = np.array([f for _, f in _THINGS.values()])
    low = 0.4 if difficulty == 'easy' else 0.05
    items = []
    for _ in range(int(rng.integers(cfg.num_objects[0], cfg.num_objects[1] + 1))):
        label_id = things[rng.choice(len(things), p=frequency / frequency.sum())]
        items.append((horizon + ground * rng.uniform(low, 1.0), label_id))
    for _ in range(int(rng.integers(cfg.num_distractors[0], cfg.num_distractors[1] + 1))):
        items.append((horizon + ground * rng.uniform(0.05, 1.0), STATIC))
    # Far (higher up) things first so that nearer ones occlude them.
    items.sort()
    items = [
        standing_item(label_id,
                      random_style(rng) if label_id == STATIC else _STREET_STYLES[label_id], base)
        for base, label_id in items
    ]
    owner, placed = paint_items(rng, image, items, 0.0)
    # The trailing 0 is what owner -1 (no item) indexes; copyto leaves those pixels alone.
    item_labels = np.array([p.item.label for p in placed] + [0], np.uint8)
    np.copyto(labels, item_labels[owner], where=owner >= 0)

    if rng.random() < 0.4:
        hood = ground * rng.uniform(0.08, 0.15)
        xs = np.linspace(0, width, 17)
        curve = height - hood * (1 - 0.5 * ((xs - width / 2) / (width / 2))**2)
        stuff(EGO_VEHICLE,
              [np.concatenate([np.stack([xs, curve], 1), [[width, height], [0, height]]])])

    instance_ids = labels.astype(np.uint16)
    counts: Dict[int, int] = {}
    for k, (item, (x0, y0, x1, y1), _) in enumerate(placed):
        if item.label == STATIC:
            continue
        index = counts.get(item.label, 0)
        counts[item.label] = index + 1
        # The ego vehicle may have covered part of the thing since.
        visible = ((owner[y0:y1, x0:x1] == k) & (labels[y0:y1, x0:x1] == item.label))
        instance_ids[y0:y1, x0:x1][visible] = item.label * 1000 + index
    return finish_image(rng, image, cfg.noise), labels, instance_ids
