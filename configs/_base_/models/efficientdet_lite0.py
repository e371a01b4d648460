# EfficientDet-Lite0 (google/automl efficientdet hparams_config.py, efficientdet-lite0) as the
# changes to EfficientDet-D0's model (efficientdet_d0.py: BiFPN 64 x 3 layers over P3..P7,
# class/box nets of 3 separable convs) that make the lite family for mobile accelerators: the
# EfficientNet-Lite0 backbone, ReLU6 instead of swish everywhere, the BiFPN's inputs summed
# without learnt weights (fpn_weight_method 'sum'), anchors of 3 (not 4) strides (anchor_scale
# 3.0), 320 px input. ImageNet weights: `python tools/misc/imagenet_weights.py` (run it once).
# A leaf that inherits a D0 config (whose `model` this may not repeat: mmengine forbids a key in
# two bases) applies it with
#   _base_ = ['<an efficientdet_d0 config>', '../_base_/models/efficientdet_lite0.py']
#   model = _base_.efficientdet_lite0
efficientdet_lite0 = dict(
    compound_coef=None,
    input_size=320,
    # 320 is not a multiple of P7's stride 128: P6 is 5x5 and the "same" max-pool makes P7 3x3,
    # as in the TensorFlow models
    size_divisor=64,
    # the lite weights' normalisation: (x - 127.5) / 127.5, RGB
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, pad_size_divisor=64),
    backbone=dict(
        _delete_=True,
        type='EfficientNetLite',
        arch='lite0',
        out_indices=(2, 3, 4),
        norm_cfg=dict(type='BN', momentum=0.01, eps=1e-3),
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='~/.cache/skd_det/imagenet/efficientnet-lite0_57934424.pth')),
    neck=dict(act_cfg='relu6', weighted_fusion=False),
    bbox_head=dict(act_cfg=dict(type='ReLU6'), anchor_generator=dict(octave_base_scale=3)))
