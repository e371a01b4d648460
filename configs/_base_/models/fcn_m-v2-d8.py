# FCN on MobileNetV2-D8 (mmseg's configs/mobilenet_v2/mobilenet-v2-d8_fcn_*: strides 4, 8, 8, 8
# at layers 2, 3, 5, 7, the last four stages dilated 2, 2, 4, 4; decode head on layer 7's 320
# channels, auxiliary head on layer 5's 96) from ImageNet weights: the ones that
# `python tools/misc/imagenet_weights.py` converts into mmseg's MobileNetV2 layout (run it once).
_base_ = 'mmseg::_base_/models/fcn_r50-d8.py'
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='~/.cache/skd_det/imagenet/mobilenet-v2_mmseg_2f518e77.pth')),
    decode_head=dict(in_channels=320),
    auxiliary_head=dict(in_channels=96))
