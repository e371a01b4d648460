# Copyright (c) skd_det contributors.
"""Writer of the PASCAL VOC format (detection and segmentation, VOC2007 and VOC2012)."""
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from PIL import Image

from .classes import VOC_CLASSES
from .scene import Scene, render_scene
from .styles import class_styles
from .writing import check_args, image_size, prepare_out_dir, run_split, write_lines

_STYLES = class_styles(len(VOC_CLASSES))
_VOID = 255


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


_PALETTE = _voc_palette()


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
        for tag, value in (('xmin', x0 + 1), ('ymin', y0 + 1), ('xmax', x1), ('ymax', y1)):
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
    check_args(num_train, num_val, seed, difficulty, img_size)
    out = prepare_out_dir(out_dir, ('VOCdevkit', ), overwrite)
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
                height, width = image_size(rng, img_size)
                scene = render_scene(rng, height, width, _STYLES, difficulty)
                Image.fromarray(scene.image).save(root / 'JPEGImages' / f'{stem}.jpg', quality=90)
                (root / 'Annotations' / f'{stem}.xml').write_text(_voc_xml(year, stem, scene))
                label_png = Image.fromarray(_voc_class_map(scene, True))
                label_png.putpalette(_PALETTE)
                label_png.save(root / 'SegmentationClass' / f'{stem}.png')
                if year == '2012':
                    Image.fromarray(_voc_class_map(scene, False)).save(
                        root / 'SegmentationClassAug' / f'{stem}.png')
                return len(scene.objects)

            splits[f'VOC{year}/{split}'] = run_split(f'voc/VOC{year}/{split}', count, seed,
                                                     write_one)
        ids['trainval'] = ids['train'] + ids['val']
        for image_set in ('Main', 'Segmentation'):
            for split, lines in ids.items():
                write_lines(root / 'ImageSets' / image_set / f'{split}.txt', lines)
        if year == '2012':
            write_lines(root / 'ImageSets' / 'Segmentation' / 'aug.txt', ids['train'])
    return dict(splits=splits, seconds=time.perf_counter() - start)
