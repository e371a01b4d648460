# Copyright (c) skd_det contributors.
"""Tests of the synthetic dataset generator and its CLI.

The generated datasets are read back with the real loaders (mmdet's VOCDataset / CocoDataset,
mmseg's PascalVOCDataset / CityscapesDataset, pycocotools), unchanged and unregistered.
"""
import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skd_det.datasets.synthetic import (CITYSCAPES_CLASSES, CITYSCAPES_LABEL_IDS, COCO_CATEGORIES,
                                        VOC_CLASSES, class_styles, generate_cityscapes,
                                        generate_coco, generate_voc, mask_to_polygons, mask_to_rle,
                                        render_scene, render_street)
from skd_det.datasets.synthetic.coco import _coco_annotation

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / 'tools' / 'misc' / 'make_synthetic_dataset.py'
NUM_TRAIN, NUM_VAL = 4, 2
CITY_SIZE = (64, 128)


def _hashes(root: Path) -> dict:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob('*')) if path.is_file()
    }


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('voc')
    stats = generate_voc(root, NUM_TRAIN, NUM_VAL, seed=0, difficulty='hard')
    assert {
        split: s['images']
        for split, s in stats['splits'].items()
    } == {
        'VOC2007/train': NUM_TRAIN,
        'VOC2007/val': NUM_VAL,
        'VOC2007/test': NUM_VAL,
        'VOC2012/train': NUM_TRAIN,
        'VOC2012/val': NUM_VAL
    }
    return root


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    generate_coco(root, NUM_TRAIN, NUM_VAL, seed=0, difficulty='hard')
    return root


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cityscapes')
    generate_cityscapes(root, NUM_TRAIN, NUM_VAL, seed=0, difficulty='hard', img_size=CITY_SIZE)
    return root


def _in_scope(scope: str):
    """Builds the datasets' pipelines in ``scope`` without leaking it into other tests."""
    from mmengine.registry import DefaultScope
    return DefaultScope.overwrite_default_scope(scope)


# ---------------------------------------------------------------------------
# Pure generator behaviour (numpy / Pillow only)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize('generate, kwargs', [
    (generate_voc, {}),
    (generate_coco, {}),
    (generate_cityscapes, dict(img_size=CITY_SIZE)),
])
def test_same_seed_same_bytes_other_seed_other_images(tmp_path, generate, kwargs):
    runs = {}
    for name, seed in (('a', 3), ('b', 3), ('c', 4)):
        generate(tmp_path / name, 2, 1, seed=seed, difficulty='hard', **kwargs)
        runs[name] = _hashes(tmp_path / name)
    assert runs['a'] == runs['b']
    assert runs['a'].keys() == runs['c'].keys()
    images = [k for k in runs['a'] if k.endswith(('.jpg', '_leftImg8bit.png'))]
    assert images and all(runs['a'][k] != runs['c'][k] for k in images)


def test_images_do_not_depend_on_other_split_sizes(tmp_path):
    generate_coco(tmp_path / 'a', 1, 2, seed=0)
    generate_coco(tmp_path / 'b', 3, 2, seed=0)
    first = (tmp_path / 'a' / 'train2017' / '000000000001.jpg').read_bytes()
    assert (tmp_path / 'b' / 'train2017' / '000000000001.jpg').read_bytes() == first


def test_class_styles_are_distinct():
    styles = class_styles(len(COCO_CATEGORIES))
    pairs = [(s.shape, s.texture) for s in styles]
    assert len(set(pairs[:60])) == 60
    # Classes sharing shape and texture are far apart in hue.
    for k in range(60, len(styles)):
        gap = abs(styles[k].hue - styles[k - 60].hue) % 1.0
        assert min(gap, 1 - gap) > 0.25
    # Neighbouring classes never share the shape: colour alone is not the cue.
    assert all(a.shape != b.shape for a, b in zip(styles, styles[1:]))


@pytest.mark.parametrize('difficulty', ['easy', 'hard'])
def test_scene_objects_match_instance_map(difficulty):
    counts = []
    for seed in range(6):
        scene = render_scene(np.random.default_rng(seed), 240, 300, class_styles(20), difficulty)
        assert scene.image.shape == (240, 300, 3)
        assert scene.image.dtype == np.uint8
        for k, obj in enumerate(scene.objects):
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 < x1 <= 300 and 0 <= y0 < y1 <= 240
            # The mask is the object's visible pixels and the box is tight around them.
            assert np.array_equal(scene.instances[y0:y1, x0:x1] == k + 1, obj.mask)
            assert (scene.instances == k + 1).sum() == obj.mask.sum()
            assert obj.mask[0].any() and obj.mask[-1].any()
            assert obj.mask[:, 0].any() and obj.mask[:, -1].any()
        counts.append(len(scene.objects))
    if difficulty == 'easy':
        assert 1 <= min(counts) and max(counts) <= 4
    else:
        assert max(counts) > 4 and max(counts) <= 15


def test_street_label_maps_are_consistent():
    for seed in range(4):
        image, label_ids, instance_ids = render_street(
            np.random.default_rng(seed), 128, 256, 'hard')
        assert image.shape == (128, 256, 3) and label_ids.dtype == np.uint8
        # Sky on top, ground (road/sidewalk/terrain/ego vehicle) at the bottom.
        assert 23 in label_ids[0] and set(np.unique(label_ids[0])) <= {21, 23}
        assert set(np.unique(label_ids[-1])) <= {1, 7, 8, 22, 24, 25, 26, 27, 28, 31, 32, 33, 4}
        things = instance_ids >= 1000
        assert np.array_equal(instance_ids[things] // 1000, label_ids[things])
        assert np.array_equal(instance_ids[~things], label_ids[~things])
        assert set(np.unique(label_ids[things])) <= set(CITYSCAPES_LABEL_IDS[11:])


def test_mask_to_polygons_traces_outer_boundaries():
    mask = np.zeros((7, 9), bool)
    mask[1:4, 1:4] = True  # a square
    mask[4, 4] = True  # touches the square only diagonally: its own polygon
    mask[5, 6:8] = True
    polygons = mask_to_polygons(mask)
    assert sorted(p.tolist() for p in polygons) == sorted([
        [[1, 1], [4, 1], [4, 4], [1, 4]],
        [[4, 4], [5, 4], [5, 5], [4, 5]],
        [[6, 5], [8, 5], [8, 6], [6, 6]],
    ])
    assert mask_to_polygons(np.zeros((3, 3), bool)) == []


def test_mask_to_rle_runs_are_column_major():
    mask = np.array([[1, 0], [1, 1]], bool)
    assert mask_to_rle(mask) == dict(counts=[0, 2, 1, 1], size=[2, 2])
    assert mask_to_rle(~mask) == dict(counts=[2, 1, 1], size=[2, 2])


def test_voc_files_follow_the_real_layout(voc_root):
    voc07 = voc_root / 'VOCdevkit' / 'VOC2007'
    voc12 = voc_root / 'VOCdevkit' / 'VOC2012'

    def read(path):
        return path.read_text().split()

    main07 = voc07 / 'ImageSets' / 'Main'
    assert read(main07 / 'train.txt') == [f'{i:06d}' for i in range(1, 5)]
    assert read(main07 / 'trainval.txt') == read(main07 / 'train.txt') + read(main07 / 'val.txt')
    assert not set(read(main07 / 'test.txt')) & set(read(main07 / 'trainval.txt'))
    assert read(voc12 / 'ImageSets' / 'Main' / 'val.txt') == ['2012_000005', '2012_000006']
    assert read(voc12 / 'ImageSets' / 'Segmentation' / 'aug.txt') == read(
        voc12 / 'ImageSets' / 'Segmentation' / 'train.txt')
    assert not (voc12 / 'ImageSets' / 'Main' / 'test.txt').exists()

    stem = read(main07 / 'test.txt')[0]
    root = ET.parse(voc07 / 'Annotations' / f'{stem}.xml').getroot()
    width, height = Image.open(voc07 / 'JPEGImages' / f'{stem}.jpg').size
    assert root.findtext('filename') == f'{stem}.jpg'
    assert int(root.findtext('size/width')) == width
    assert int(root.findtext('size/height')) == height
    assert root.findall('object')
    for obj in root.findall('object'):
        assert obj.findtext('name') in VOC_CLASSES
        assert obj.findtext('difficult') == '0'
        xmin, ymin, xmax, ymax = (
            int(obj.findtext(f'bndbox/{tag}')) for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
        assert 1 <= xmin <= xmax <= width and 1 <= ymin <= ymax <= height

    label = Image.open(voc07 / 'SegmentationClass' / f'{stem}.png')
    assert label.mode == 'P'
    assert label.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
    values = set(np.unique(np.asarray(label)).tolist())
    assert 255 in values and values <= set(range(21)) | {255}


def test_voc_loads_with_mmdet(voc_root):
    pytest.importorskip('mmdet')
    from mmdet.datasets import VOCDataset
    data_root = str(voc_root / 'VOCdevkit')
    test07 = VOCDataset(
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        pipeline=[],
        test_mode=True)
    assert len(test07) == NUM_VAL
    assert test07.metainfo['dataset_type'] == 'VOC2007'

    with _in_scope('mmdet'):
        trainval12 = VOCDataset(
            data_root=data_root,
            ann_file='VOC2012/ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root='VOC2012/'),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True)])
    assert len(trainval12) == NUM_TRAIN + NUM_VAL
    num_instances = 0
    for index in range(len(trainval12)):
        info = trainval12.get_data_info(index)
        # Class indices without void outline: the box edges must touch the object.
        classes = np.asarray(
            Image.open(voc_root / 'VOCdevkit' / 'VOC2012' / 'SegmentationClassAug' /
                       f'{info["img_id"]}.png'))
        assert classes.shape == (info['height'], info['width'])
        for instance in info['instances']:
            x0, y0, x1, y1 = (int(v) for v in instance['bbox'])
            assert instance['ignore_flag'] == 0
            inside = classes[y0:y1 + 1, x0:x1 + 1] == instance['bbox_label'] + 1
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            num_instances += 1
    assert num_instances > len(trainval12)

    results = trainval12[0]
    info = trainval12.get_data_info(0)
    assert results['img'].shape == (info['height'], info['width'], 3)
    assert len(results['gt_bboxes']) == len(info['instances'])


def test_voc_segmentation_loads_with_mmseg(voc_root):
    pytest.importorskip('mmseg')
    from mmseg.datasets import PascalVOCDataset
    assert PascalVOCDataset.METAINFO['classes'][1:] == VOC_CLASSES
    data_root = str(voc_root / 'VOCdevkit' / 'VOC2012')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    with _in_scope('mmseg'):
        train = PascalVOCDataset(
            data_root=data_root,
            ann_file='ImageSets/Segmentation/train.txt',
            data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
            pipeline=pipeline)
        aug = PascalVOCDataset(
            data_root=data_root,
            ann_file='ImageSets/Segmentation/aug.txt',
            data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
            pipeline=pipeline)
    assert len(train) == len(aug) == NUM_TRAIN
    for index in range(len(train)):
        plain, augmented = train[index], aug[index]
        seg, seg_aug = plain['gt_seg_map'], augmented['gt_seg_map']
        assert seg.shape == plain['img'].shape[:2]
        assert set(np.unique(seg).tolist()) <= set(range(21)) | {255}
        assert 255 not in seg_aug
        # The aug map is the same labelling without the void outline.
        assert np.array_equal(seg[seg != 255], seg_aug[seg != 255])
        assert (seg_aug > 0).any()


def test_coco_loads_with_pycocotools(coco_root):
    pytest.importorskip('pycocotools')
    from pycocotools.coco import COCO
    image_ids, ann_ids = set(), set()
    for split in ('train2017', 'val2017'):
        coco = COCO(str(coco_root / 'annotations' / f'instances_{split}.json'))
        assert [c['id']
                for c in coco.loadCats(coco.getCatIds())] == [c['id'] for c in COCO_CATEGORIES]
        assert coco.loadCats(90)[0]['name'] == 'toothbrush'
        assert coco.loadCats(13)[0]['name'] == 'stop sign'
        assert len(coco.getImgIds()) == (NUM_TRAIN if split == 'train2017' else NUM_VAL)
        image_ids |= set(coco.getImgIds())
        ann_ids |= set(coco.getAnnIds())
        assert coco.getAnnIds()
        for ann in coco.loadAnns(coco.getAnnIds()):
            info = coco.loadImgs(ann['image_id'])[0]
            assert (coco_root / split / info['file_name']).is_file()
            mask = coco.annToMask(ann).astype(bool)
            assert ann['area'] > 0 and mask.sum() == ann['area']
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert ann['bbox'] == [cols[0], rows[0], cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]]
    assert len(image_ids) == NUM_TRAIN + NUM_VAL
    assert len(ann_ids) == sum(
        len(COCO(str(coco_root / 'annotations' / f'instances_{s}.json')).getAnnIds())
        for s in ('train2017', 'val2017'))


def test_coco_polygons_and_crowd_rle_are_exact():
    mask_utils = pytest.importorskip('pycocotools.mask')
    height, width = 200, 260
    for seed in range(8):
        scene = render_scene(
            np.random.default_rng(seed), height, width, class_styles(80), 'hard', crowd_prob=1.0)
        assert any(obj.crowd for obj in scene.objects)
        for k, obj in enumerate(scene.objects):
            ann = _coco_annotation(obj, 1, 1, height, width)
            assert ann['iscrowd'] == int(obj.crowd)
            assert isinstance(ann['segmentation'], dict) == obj.crowd
            rles = mask_utils.frPyObjects(ann['segmentation'], height, width)
            decoded = mask_utils.decode(
                mask_utils.merge(rles) if isinstance(rles, list) else rles).astype(bool)
            assert np.array_equal(decoded, scene.instances == k + 1)
            assert ann['area'] == decoded.sum()


def test_coco_loads_with_mmdet(coco_root):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset
    assert tuple(c['name'] for c in COCO_CATEGORIES) == CocoDataset.METAINFO['classes']
    with _in_scope('mmdet'):
        dataset = CocoDataset(
            data_root=str(coco_root),
            ann_file='annotations/instances_val2017.json',
            data_prefix=dict(img='val2017/'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
            ])
    assert len(dataset) == NUM_VAL
    for index in range(len(dataset)):
        results = dataset[index]
        masks = results['gt_masks'].to_ndarray().astype(bool)
        boxes = results['gt_bboxes'].numpy()
        assert masks.shape[1:] == results['img'].shape[:2]
        assert len(masks) == len(boxes) > 0
        for mask, (x0, y0, x1, y1) in zip(masks, boxes):
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert (x0, y0, x1, y1) == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)


def test_cityscapes_loads_with_mmseg(cityscapes_root):
    pytest.importorskip('mmseg')
    from mmseg.datasets import CityscapesDataset
    assert CityscapesDataset.METAINFO['classes'] == CITYSCAPES_CLASSES
    with _in_scope('mmseg'):
        datasets = {
            split:
            CityscapesDataset(
                data_root=str(cityscapes_root),
                data_prefix=dict(img_path=f'leftImg8bit/{split}', seg_map_path=f'gtFine/{split}'),
                pipeline=[dict(type='LoadImageFromFile'),
                          dict(type='LoadAnnotations')])
            for split in ('train', 'val')
        }
    assert len(datasets['train']) == NUM_TRAIN
    assert len(datasets['val']) == NUM_VAL
    assert Path(datasets['val'].get_data_info(0)['img_path']).name == (
        'frankfurt_000000_000019_leftImg8bit.png')
    results = datasets['train'][0]
    assert results['img'].shape == CITY_SIZE + (3, )
    seg = results['gt_seg_map']
    assert seg.shape == CITY_SIZE
    assert set(np.unique(seg).tolist()) <= set(range(19)) | {255}
    assert len(np.unique(seg)) > 5


def test_cityscapes_label_ids_map_to_train_ids(cityscapes_root):
    try:
        from cityscapesscripts.helpers.labels import labels
    except ImportError:
        labels = None
    if labels is not None:
        train_labels = sorted((lb for lb in labels if 0 <= lb.trainId < 255),
                              key=lambda lb: lb.trainId)
        assert tuple(lb.name for lb in train_labels) == CITYSCAPES_CLASSES
        assert tuple(lb.id for lb in train_labels) == CITYSCAPES_LABEL_IDS
    lut = np.full(256, 255, np.uint8)
    lut[list(CITYSCAPES_LABEL_IDS)] = np.arange(19)
    label_files = sorted(cityscapes_root.glob('gtFine/*/*/*_gtFine_labelIds.png'))
    assert len(label_files) == NUM_TRAIN + NUM_VAL
    for path in label_files:
        label_ids = np.asarray(Image.open(path))
        train_ids = np.asarray(Image.open(str(path).replace('_labelIds', '_labelTrainIds')))
        instance_ids = np.asarray(
            Image.open(str(path).replace('_labelIds', '_instanceIds')), np.int64)
        assert label_ids.shape == train_ids.shape == CITY_SIZE
        assert np.array_equal(lut[label_ids], train_ids)
        things = instance_ids >= 1000
        assert np.array_equal(instance_ids[things] // 1000, label_ids[things])
        assert np.array_equal(instance_ids[~things], label_ids[~things])


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def _run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(CLI), *map(str, args)],
                          capture_output=True,
                          text=True,
                          env=env,
                          cwd=str(REPO))


@pytest.mark.slow
def test_cli_writes_dataset_and_reports_speed(tmp_path):
    result = _run_cli('coco', tmp_path / 'coco', '--num-train', 2, '--num-val', 1, '--img-size', 64,
                      96)
    assert result.returncode == 0, result.stderr
    assert 'train2017: 2 images' in result.stdout
    assert 'images/s' in result.stdout
    assert Image.open(tmp_path / 'coco' / 'val2017' / '000000000003.jpg').size == (96, 64)


@pytest.mark.parametrize('args, message', [
    (['imagenet'], "invalid choice: 'imagenet'"),
    (['voc', '--num-train', '0'], 'argument --num-train: must be an integer >= 1'),
    (['coco', '--num-val', '-2'], 'argument --num-val: must be an integer >= 1'),
    (['cityscapes', '--seed', 'abc'], 'argument --seed'),
    (['voc', '--difficulty', 'medium'], 'argument --difficulty'),
    (['voc', '--img-size', '8', '8'], 'argument --img-size'),
])
@pytest.mark.slow
def test_cli_rejects_bad_arguments(tmp_path, args, message):
    fmt, *options = args
    result = _run_cli(fmt, tmp_path / 'out', *options)
    assert result.returncode != 0
    assert message in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.slow
def test_cli_refuses_non_empty_out_dir_unless_overwrite(tmp_path):
    out = tmp_path / 'data'
    out.mkdir()
    keep = out / 'notes.txt'
    keep.write_text('user data')
    args = ('cityscapes', out, '--num-train', 1, '--num-val', 1, '--img-size', 32, 64)
    result = _run_cli(*args)
    assert result.returncode != 0
    assert 'not empty' in result.stderr and '--overwrite' in result.stderr
    assert 'Traceback' not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ['notes.txt']

    stale = out / 'leftImg8bit' / 'train' / 'old' / 'old_leftImg8bit.png'
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b'')
    result = _run_cli(*args, '--overwrite')
    assert result.returncode == 0, result.stderr
    assert keep.read_text() == 'user data'
    assert not stale.exists()
    assert len(list(out.glob('leftImg8bit/*/*/*_leftImg8bit.png'))) == 2
