# Copyright (c) skd_det contributors.
"""Data faults of a long run: a corrupt image met mid-epoch stops tools/train.py with one line
naming it and the last complete checkpoint (or, with --skip-corrupt-images, is skipped with a
warning), whatever num_workers is; tools/misc/check_dataset.py lists exactly the broken files
of a data set."""
import os.path as osp
import re
import shutil
from glob import glob
from unittest import mock

import numpy as np
import pytest

from skd_det.testing import NO_VAL, REPO, VOC_VAL_AS_TRAIN

DET_CFG = 'configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py'
COCO_CFG = 'configs/retinanet/retinanet_r18_fpn_cpu_coco.py'
SEG_CFG = 'configs/fcn/fcn_r18-d8_cpu_cityscapes.py'
ENV = dict(OMP_NUM_THREADS='1')
SHORT = ['train_dataloader.batch_size=2', 'default_hooks.logger.interval=1', *NO_VAL]


def _truncate(path, keep=0.5):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def _images(tmp_path):
    """A good JPEG and PNG and their damaged variants."""
    import cv2
    img = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    paths = {}
    for name in ('good', 'truncated', 'empty', 'header_only'):
        paths[name] = str(tmp_path / f'{name}.jpg')
        cv2.imwrite(paths[name], img)
    _truncate(paths['truncated'])
    _truncate(paths['empty'], 0)
    _truncate(paths['header_only'], 0.02)
    for name in ('good_png', 'truncated_png'):
        paths[name] = str(tmp_path / f'{name}.png')
        cv2.imwrite(paths[name], img)
    _truncate(paths['truncated_png'])
    paths['text'] = str(tmp_path / 'text.jpg')
    open(paths['text'], 'w').write('not an image')
    paths['missing'] = str(tmp_path / 'missing.jpg')
    return paths


def test_read_image_names_each_fault(tmp_path):
    import cv2

    from skd_det.datasets.transforms import read_image
    paths = _images(tmp_path)
    for name in ('good', 'good_png'):
        img, reason = read_image(paths[name])
        assert reason == '' and np.array_equal(img, cv2.imread(paths[name]))
    expected = dict(
        truncated='truncated JPEG',  # OpenCV 5 refuses it, OpenCV 4 decodes it with grey rows
        empty='empty file (0 bytes)',
        header_only='truncated JPEG',
        truncated_png='cannot be decoded',
        text='cannot be decoded',
        missing='file does not exist')
    for name, reason in expected.items():
        img, got = read_image(paths[name])
        assert img is None and got.startswith(reason), (name, got)
    # mmcv's pillow backend raises on the cut JPEG ('image file is truncated')
    assert read_image(paths['truncated'], backend='pillow')[1].startswith('truncated JPEG')


def test_jpeg_truncation():
    """The check OpenCV 4 skips: an end-of-image marker after the last scan, trailing bytes
    after it allowed."""
    import cv2

    from skd_det.datasets.transforms import jpeg_truncation
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = cv2.imencode('.jpg', img)[1].tobytes()
    assert jpeg_truncation(data) is None and jpeg_truncation(data + b'appended') is None
    for cut in (data[:-2], data[:len(data) // 2], data[:len(data) - 40]):
        assert jpeg_truncation(cut).startswith(f'truncated JPEG ({len(cut)} bytes')
    assert jpeg_truncation(cv2.imencode('.png', img)[1].tobytes()) is None


def test_checked_loader_raises_or_skips(tmp_path):
    from skd_det.datasets.transforms import CheckedLoadImageFromFile
    from skd_det.utils.data_faults import CorruptDataError
    paths = _images(tmp_path)
    loader = CheckedLoadImageFromFile()
    out = loader(dict(img_path=paths['good']))
    assert out['img'].shape == (64, 80, 3) and out['ori_shape'] == (64, 80)
    with pytest.raises(
            CorruptDataError,
            match=f'^corrupt image {re.escape(paths["truncated"])}: '
            'truncated JPEG .*check_dataset.py'):
        loader(dict(img_path=paths['truncated']))
    for skipper in (CheckedLoadImageFromFile(skip_corrupt=True),
                    CheckedLoadImageFromFile(ignore_empty=True)):
        with mock.patch('skd_det.datasets.transforms.loading.print_log') as log:
            assert skipper(dict(img_path=paths['empty'])) is None
        (message, ), _ = log.call_args
        assert message.startswith(f'skipped a corrupt image: {paths["empty"]}: empty file')


class _Faulty:
    """A dataset whose sample 1 is corrupt (a module-level class: workers may pickle it)."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        from skd_det.utils.data_faults import CorruptDataError
        if i == 1:
            raise CorruptDataError('corrupt image a/b.jpg: empty file (0 bytes)')
        return i


@pytest.mark.parametrize('workers', [0, 1])
def test_fault_message_survives_dataloader_workers(workers):
    """PyTorch re-raises a worker's exception with the worker's traceback as its message; the
    fault keeps the one line."""
    import torch

    from skd_det.utils.checkpoint import TrainingFault
    loader = torch.utils.data.DataLoader(_Faulty(), batch_size=1, num_workers=workers)
    with pytest.raises(TrainingFault) as info:
        list(loader)
    assert str(info.value) == 'corrupt image a/b.jpg: empty file (0 bytes)'


def _runner(default_scope, train, val=None):
    """What guard_data_loading reads of an mmengine Runner: the config and the dataloader
    configs the runner builds from."""
    from mmengine.config import Config, ConfigDict
    return mock.Mock(
        cfg=Config(dict(default_scope=default_scope)),
        _train_dataloader=ConfigDict(dataset=train),
        _val_dataloader=ConfigDict(dataset=val) if val else None)


def test_guard_data_loading():
    from skd_det.utils.data_faults import guard_data_loading
    shared = dict(type='LoadImageFromFile', backend_args=None)
    anns = dict(type='LoadAnnotations', with_bbox=True)
    runner = _runner(
        'mmdet', dict(type='ConcatDataset', datasets=[dict(type='A', pipeline=[shared, anns])] * 2),
        dict(type='A', pipeline=[shared]))
    assert guard_data_loading(runner, skip_corrupt=True) == 3
    train = runner._train_dataloader.dataset.datasets
    assert train[0].pipeline[0] == dict(
        type='CheckedLoadImageFromFile', backend_args=None, skip_corrupt=True)
    assert train[1].pipeline[1] == anns  # mmdet parses its annotations before training
    # evaluation never skips: mmengine refuses a skipped test-mode sample
    assert runner._val_dataloader.dataset.pipeline == [
        dict(type='CheckedLoadImageFromFile', backend_args=None)
    ]
    seg = _runner('mmseg', dict(type='B', pipeline=[shared, dict(type='LoadAnnotations')]))
    assert guard_data_loading(seg) == 2
    assert [s.type for s in seg._train_dataloader.dataset.pipeline
            ] == ['CheckedLoadImageFromFile', 'CheckedLoadAnnotations']
    # the checked types build in their registries (guard_data_loading imported them)
    from mmseg.registry import TRANSFORMS
    assert TRANSFORMS.get('CheckedLoadAnnotations').__module__.startswith('skd_det.')
    none = _runner('mmdet', dict(type='A', pipeline=[dict(type='LoadImageFromNDArray')]))
    assert guard_data_loading(none, skip_corrupt=True) == 0
    assert 'nothing is checked or skipped' in none.logger.warning.call_args[0][0]


def test_checked_seg_map_loader(synthetic_cityscapes, tmp_path):
    from skd_det.datasets.transforms.seg_loading import CheckedLoadAnnotations
    from skd_det.utils.data_faults import CorruptDataError
    (label, ) = glob(osp.join(synthetic_cityscapes, 'gtFine', 'train', '*',
                              '*_labelTrainIds.png'))[:1]
    cut = str(tmp_path / 'cut.png')
    shutil.copy(label, cut)
    _truncate(cut)
    results = dict(seg_map_path=label, reduce_zero_label=False, seg_fields=[])
    assert CheckedLoadAnnotations()(results)['gt_seg_map'].ndim == 2
    with pytest.raises(
            CorruptDataError,
            match=f'^corrupt segmentation map {re.escape(cut)}: '
            'cannot be decoded .*OSError: image file is truncated'):
        CheckedLoadAnnotations()(dict(results, seg_map_path=cut, seg_fields=[]))
    with mock.patch('skd_det.datasets.transforms.seg_loading.print_log') as log:
        assert CheckedLoadAnnotations(skip_corrupt=True)(dict(results, seg_map_path=cut)) is None
    (message, ), _ = log.call_args
    assert message.startswith(f'skipped a corrupt sample: corrupt segmentation map {cut}: ')
    assert 'check_dataset' not in message


def _check(load_tool, capsys, config, data_root):
    """check_dataset.py's exit status and the broken files it lists (path -> reason)."""
    status = load_tool('tools/misc/check_dataset.py').main([config, '--data-root', data_root])
    out = capsys.readouterr().out
    listed = out.split('broken file(s):\n')[1:]
    lines = listed[0].strip().splitlines() if listed else []
    return status, dict(line.split(': ', 1) for line in lines), out


@pytest.mark.slow
def test_check_dataset_voc(synthetic_voc, tmp_path, load_tool, capsys):
    status, broken, out = _check(load_tool, capsys, DET_CFG, synthetic_voc)
    # VOC07 + VOC12 trainval (train) and VOC07 test (val and test, read once): 8 + 8 + 2
    assert status == 0 and not broken and 'all 18 files read and decoded' in out, out
    root = str(tmp_path / 'VOCdevkit')
    shutil.copytree(synthetic_voc, root)
    jpgs = sorted(glob(osp.join(root, 'VOC2007', 'JPEGImages', '*.jpg')))
    xmls = sorted(glob(osp.join(root, 'VOC2012', 'Annotations', '*.xml')))
    _truncate(jpgs[0])
    _truncate(jpgs[1], 0)
    _truncate(xmls[0])
    status, broken, out = _check(load_tool, capsys, DET_CFG, root)
    assert status == 1
    assert sorted(broken) == sorted([jpgs[0], jpgs[1], xmls[0]]), out
    assert broken[jpgs[0]].startswith('image: truncated JPEG')
    assert broken[jpgs[1]] == 'image: empty file (0 bytes)'
    assert broken[xmls[0]].startswith('annotation cannot be parsed (ParseError: ')


@pytest.mark.slow
def test_check_dataset_coco_and_seg(synthetic_coco, synthetic_cityscapes, tmp_path, load_tool,
                                    capsys):
    coco = str(tmp_path / 'coco')
    shutil.copytree(synthetic_coco, coco)
    train_json = osp.join(coco, 'annotations', 'instances_train2017.json')
    val_img = sorted(glob(osp.join(coco, 'val2017', '*.jpg')))[0]
    _truncate(train_json)
    _truncate(val_img)
    status, broken, out = _check(load_tool, capsys, COCO_CFG, coco)
    assert status == 1 and sorted(broken) == sorted([train_json, val_img]), out
    assert 'JSONDecodeError' in broken[train_json]
    city = str(tmp_path / 'cityscapes')
    shutil.copytree(synthetic_cityscapes, city)
    label = sorted(glob(osp.join(city, 'gtFine', 'train', '*', '*_labelTrainIds.png')))[0]
    _truncate(label)
    status, broken, out = _check(load_tool, capsys, SEG_CFG, city)
    assert status == 1 and list(broken) == [label], out
    assert broken[label].startswith('segmentation map: cannot be decoded')


NTH_EPOCH_TRUNCATES = '''
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TruncateAtEpochHook(Hook):
    """Cuts ``path`` in half before epoch ``epoch`` (1-based): a file damaged mid-run."""

    def __init__(self, path, epoch):
        self.path, self.epoch = path, epoch

    def before_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            data = open(self.path, 'rb').read()
            open(self.path, 'wb').write(data[:len(data) // 2])
'''


def _voc_copy(synthetic_voc, tmp_path):
    root = str(tmp_path / 'VOCdevkit')
    shutil.copytree(synthetic_voc, root)
    first = open(osp.join(root, 'VOC2007', 'ImageSets', 'Main', 'val.txt')).read().split()[0]
    return root, osp.join(root, 'VOC2007', 'JPEGImages', f'{first}.jpg')


@pytest.mark.slow
def test_train_stops_on_a_corrupt_image(synthetic_voc, tmp_path, run_tool):
    """The image is cut before epoch 2, read in a DataLoader worker: one line naming it and
    epoch_1.pth."""
    root, image = _voc_copy(synthetic_voc, tmp_path)
    (tmp_path / 'truncate_hook.py').write_text(NTH_EPOCH_TRUNCATES)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = '{osp.join(REPO, DET_CFG)}'\n"
                   "custom_imports = dict(imports=['truncate_hook'], allow_failed_imports=False)\n"
                   f"custom_hooks = [dict(type='TruncateAtEpochHook', path='{image}', epoch=2)]\n")
    work_dir = tmp_path / 'work'
    r = run_tool([
        'tools/train.py',
        str(cfg), '--data-root', root, '--work-dir',
        str(work_dir), '--device', 'cpu', '--cfg-options', 'train_cfg.max_epochs=2',
        'train_dataloader.num_workers=1', *VOC_VAL_AS_TRAIN, *SHORT
    ],
                 env=dict(ENV, PYTHONPATH=str(tmp_path)))
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1, r.stderr[-3000:]
    assert errors[0].startswith(f'error: training stopped: corrupt image {image}: truncated JPEG')
    assert errors[0].endswith(f'the last complete checkpoint is {work_dir / "epoch_1.pth"}')


@pytest.mark.slow
def test_train_skips_a_corrupt_image(synthetic_voc, tmp_path, run_tool):
    root, image = _voc_copy(synthetic_voc, tmp_path)
    _truncate(image)
    work_dir = tmp_path / 'work'
    r = run_tool([
        'tools/train.py', DET_CFG, '--data-root', root, '--work-dir',
        str(work_dir), '--device', 'cpu', '--skip-corrupt-images', '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0', *VOC_VAL_AS_TRAIN, *SHORT
    ],
                 env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'skipped a corrupt image: {image}: truncated JPEG' in r.stdout
    assert (work_dir / 'epoch_1.pth').is_file()
