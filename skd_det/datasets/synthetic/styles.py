# Copyright (c) skd_det contributors.
"""Visual identities of classes: outline, texture and colour, and their per-instance jitter."""
import colorsys
import math
from typing import List, NamedTuple, Sequence, Tuple

import numpy as np


class ClassStyle(NamedTuple):
    """Fixed visual identity of a class.

    Args:
        shape (str): Key of :data:`UNIT_SHAPES` or ``'blob'`` (random outline, distractors).
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


def _regular_polygon(corners: int, radii: Sequence[float] = (1.0, )):
    angles = -np.pi / 2 + 2 * np.pi * np.arange(corners) / corners
    radius = np.resize(np.asarray(radii, np.float64), corners)
    return np.stack([np.cos(angles), np.sin(angles)], 1) * radius[:, None]


def _half_disc():
    angles = np.linspace(np.pi, 2 * np.pi, 24)
    return np.stack([np.cos(angles), 2 * np.sin(angles) + 1], 1)


_ARM = 0.35
# Outlines in a [-1, 1] frame; all are simply connected so that visible masks stay hole-free.
UNIT_SHAPES = dict(
    rectangle=np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64),
    ellipse=_regular_polygon(40),
    triangle=np.array([[0, -1], [1, 1], [-1, 1]], np.float64),
    diamond=np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], np.float64),
    pentagon=_regular_polygon(5),
    hexagon=_regular_polygon(6),
    star=_regular_polygon(10, (1.0, 0.45)),
    cross=np.array([[-_ARM, -1], [_ARM, -1], [_ARM, -_ARM], [1, -_ARM], [1, _ARM], [_ARM, _ARM],
                    [_ARM, 1], [-_ARM, 1], [-_ARM, _ARM], [-1, _ARM], [-1, -_ARM], [-_ARM, -_ARM]],
                   np.float64),
    chevron=np.array([[-1, -0.6], [0, 0.2], [1, -0.6], [1, 0.2], [0, 1], [-1, 0.2]], np.float64),
    half_disc=_half_disc())
_CLASS_SHAPES = tuple(UNIT_SHAPES)
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
            texture=_CLASS_TEXTURES[(k + k // len(_CLASS_SHAPES)) % len(_CLASS_TEXTURES)],
            hue=(k * _GOLDEN + 0.5 * (k // num_pairs)) % 1.0,
            aspect=2**((k * (1 - _GOLDEN)) % 1.0 - 0.5),
            frequency=2.0 + (3 * k) % 4) for k in range(num_classes)
    ]


def random_style(rng: np.random.Generator) -> ClassStyle:
    """A style that belongs to no class (distractors, background blobs, clutter)."""
    return ClassStyle('blob', str(rng.choice(_ALL_TEXTURES)), rng.random(),
                      2**rng.uniform(-0.7, 0.7), rng.uniform(1.5, 5.0), rng.uniform(0.2, 0.9),
                      rng.uniform(0.3, 0.95))


def unit_shape(rng: np.random.Generator, shape: str) -> np.ndarray:
    """``(N, 2)`` outline of ``shape`` in the [-1, 1] frame; ``'blob'`` draws a random one."""
    if shape == 'blob':
        corners = int(rng.integers(6, 12))
        return _regular_polygon(corners, rng.uniform(0.5, 1.0, corners))
    return UNIT_SHAPES[shape]


def hsv_colour(hue: float, saturation: float, value: float) -> np.ndarray:
    """RGB float32 colour on the 0-255 scale; saturation and value are clipped to [0, 1]."""
    rgb = colorsys.hsv_to_rgb(hue % 1.0, min(max(saturation, 0.0), 1.0), min(max(value, 0.0), 1.0))
    return np.array(rgb, np.float32) * 255


class Appearance(NamedTuple):
    """The look of one instance: a style with its per-instance jitter drawn."""
    texture: str
    frequency: float
    phase: float
    colours: np.ndarray  # (2, 3) float32: pattern 0 and pattern 1
    shading: np.ndarray  # (2, ) linear light gradient over the object frame


def sample_appearance(rng: np.random.Generator,
                      style: ClassStyle,
                      hue_jitter: float = 0.04) -> Appearance:
    """Draws an instance's hue, saturation, brightness, texture scale, phase and shading."""
    hue = style.hue + rng.uniform(-hue_jitter, hue_jitter)
    saturation = style.saturation + rng.uniform(-0.2, 0.2)
    value = style.value + rng.uniform(-0.25, 0.2)
    # A darker tint of the same hue, so textures show as light/dark and colour stays a cue.
    colours = np.stack([
        hsv_colour(hue, saturation, value),
        hsv_colour(hue + 0.08, saturation * 0.6, value * 0.45)
    ])
    return Appearance(style.texture, style.frequency * rng.uniform(0.8, 1.25),
                      rng.uniform(0.0, 2.0), colours, rng.uniform(-0.25, 0.25, 2))


def _pattern(rng: np.random.Generator, texture: str, u: np.ndarray, v: np.ndarray, frequency: float,
             phase: float) -> np.ndarray:
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


def texture_colours(rng: np.random.Generator, appearance: Appearance,
                    frame: Tuple[float, float, float, float, float], box: Tuple[int, int, int,
                                                                                int]) -> np.ndarray:
    """RGB float32 colours of an appearance over the pixels of ``box``.

    Args:
        frame: ``(cx, cy, sx, sy, angle)``: centre, half extents and rotation of the
            object frame in which the texture is laid out, so textures follow the object.
        box: ``(x0, y0, x1, y1)`` pixel box to colour, exclusive ends.

    Returns:
        np.ndarray: float32 array of shape ``(y1 - y0, x1 - x0, 3)``.
    """
    cx, cy, sx, sy, angle = frame
    x0, y0, x1, y1 = box
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
    cos, sin = math.cos(angle), math.sin(angle)
    u = (dx * cos + dy * sin) / sx
    v = (dy * cos - dx * sin) / sy
    t = _pattern(rng, appearance.texture, u, v, appearance.frequency, appearance.phase)
    low, high = appearance.colours
    shade = 1 + appearance.shading[0] * u + appearance.shading[1] * v
    return (low + (high - low) * t[..., None]) * np.clip(shade, 0.6, 1.4)[..., None]
