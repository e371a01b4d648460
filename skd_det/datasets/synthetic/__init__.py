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

Layout: :mod:`.classes` (class lists, Cityscapes labelIds), :mod:`.styles` (class identities
and textures), :mod:`.scene` (instance shaping, painting with occlusion control, VOC/COCO
scenes), :mod:`.street` (Cityscapes scenes), :mod:`.masks` (COCO polygons and RLE),
:mod:`.writing` (what the writers share) and one writer per format (:mod:`.voc`,
:mod:`.coco`, :mod:`.cityscapes`).
"""
from .cityscapes import DEFAULT_CITYSCAPES_SIZE, generate_cityscapes
from .classes import CITYSCAPES_CLASSES, CITYSCAPES_LABEL_IDS, COCO_CATEGORIES, VOC_CLASSES
from .coco import generate_coco
from .masks import mask_to_polygons, mask_to_rle
from .scene import DIFFICULTIES, Scene, SceneObject, render_scene
from .street import render_street
from .styles import ClassStyle, class_styles
from .voc import generate_voc
from .writing import MIN_IMG_SIDE, VARIED_SIZE_RANGE

__all__ = [
    'CITYSCAPES_CLASSES', 'CITYSCAPES_LABEL_IDS', 'COCO_CATEGORIES', 'VOC_CLASSES', 'DIFFICULTIES',
    'DEFAULT_CITYSCAPES_SIZE', 'MIN_IMG_SIDE', 'VARIED_SIZE_RANGE', 'ClassStyle', 'Scene',
    'SceneObject', 'class_styles', 'render_scene', 'render_street', 'mask_to_polygons',
    'mask_to_rle', 'generate_voc', 'generate_coco', 'generate_cityscapes'
]
