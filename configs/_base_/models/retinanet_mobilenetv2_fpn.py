# RetinaNet with mmdet's MobileNetV2 backbone and an FPN over its C3..C5 (32, 96, 320 channels,
# strides 8, 16, 32), starting from ImageNet weights: the ones that
# `python tools/misc/imagenet_weights.py` converts into mmdet's MobileNetV2 layout (run it once).
# Otherwise mmdet's RetinaNet R50-FPN: 256-channel FPN and head, P6/P7 from C5 (on_input).
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(2, 4, 6),
        # as mmdet's RetinaNet R50 recipe: stem and first block frozen, BN statistics of the
        # ImageNet weights kept (2 images per GPU are too few to estimate them)
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='~/.cache/skd_det/imagenet/mobilenet-v2_mmdet_2f518e77.pth')),
    neck=dict(in_channels=[32, 96, 320], start_level=0))
