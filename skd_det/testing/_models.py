# Copyright (c) skd_det contributors.
"""Models built from the repository's configs, and small batches for them."""
import os.path as osp

import torch

# the checkout (skd_det is installed editable: tools/setup_env.sh)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the configs `make test-fast` builds and steps (one detector, one segmentor; the model families
# are built by tests/test_models); `make test` runs every config
FAST_CONFIGS = ('configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py',
                'configs/fcn/fcn_r18-d8_cpu_cityscapes.py')


def get_config(path, **teacher):
    """``Config.fromfile`` of ``path`` (absolute, or relative to the repository) with
    ``model.teacher`` updated by ``teacher``."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, str(path)))
    if teacher:
        cfg.model.teacher.update(teacher)
    return cfg


def build_model(model_cfg, scope='mmdet', seed=None, init=False):
    """``MODELS.build(model_cfg)`` in the ``scope`` ('mmdet' or 'mmseg') registry, after
    ``torch.manual_seed(seed)`` when given, then ``init_weights()`` when ``init``."""
    from mmengine.registry import init_default_scope
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    if seed is not None:
        torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    if init:
        model.init_weights()
    return model


def build_det(model_cfg, **kwargs):
    return build_model(model_cfg, 'mmdet', **kwargs)


def build_seg(model_cfg, **kwargs):
    return build_model(model_cfg, 'mmseg', **kwargs)


def det_batch(model,
              training=True,
              image_shapes=((3, 128, 160), (3, 96, 128)),
              num_items=(2, 3),
              num_classes=20,
              seed=0,
              **kwargs):
    """mmdet's ``demo_mm_inputs`` (random boxes, after ``torch.manual_seed(seed)``) through
    ``model.data_preprocessor``: ``(inputs, data_samples)``."""
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    data = demo_mm_inputs(
        batch_size=len(image_shapes),
        image_shapes=list(image_shapes),
        num_items=list(num_items),
        num_classes=num_classes,
        **kwargs)
    data = model.data_preprocessor(data, training)
    return data['inputs'], data['data_samples']


def seg_batch(model, training=True, shape=(64, 128), ignored_rows=8, num_classes=19, seed=0):
    """Two uint8 images of ``shape`` with random labels (the first ``ignored_rows`` rows
    255, ignored) through ``model.data_preprocessor``: ``(inputs, data_samples)``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        label = torch.randint(0, num_classes, (1, *shape), generator=g)
        label[:, :ignored_rows] = 255
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    imgs = [torch.randint(0, 256, (3, *shape), generator=g, dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), training)
    return data['inputs'], data['data_samples']


def plain_student(wrapper, student_cfg, build=build_det):
    """The base model built from its own config, holding the wrapper's student weights."""
    from skd_det.models.distillers.base import student_state_dict
    student = build(student_cfg)
    student.load_state_dict(student_state_dict(wrapper.state_dict()), strict=True)
    return student


def det_student_outputs(model, inputs, samples):
    """The wrapper's training forward of its detector student, as the teacher part gets it:
    ``StudentOutputs`` (backbone and neck features, head outputs, unpacked ground truth)."""
    from mmdet.models.utils import unpack_gt_instances

    from skd_det.models.distillers.base import StudentOutputs
    student = model.student
    backbone_feats = student.backbone(inputs)
    feats = student.neck(backbone_feats)
    gt, gt_ignore, metas = unpack_gt_instances(samples)
    return StudentOutputs(backbone_feats, feats, student.bbox_head(feats), (gt, metas, gt_ignore))
