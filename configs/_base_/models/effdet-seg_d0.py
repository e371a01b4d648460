# FRSKD's segmentation model at D0 width, as the authors built it (Ji et al., CVPR 2021; authors'
# segmentation/utils/efficientdet.py, BiFPN.py): EfficientNet-B0 tapped after blocks 1, 3, 5, 15
# (C2..C5, strides 4..32) -> FPN to P2..P7 (width 64) -> three unweighted BiFPN-seg layers (1x1
# depthwise convs, bilinear up / nearest down) -> a 3x3 conv classifier on P2. The automl-style
# EfficientDet segmentation model (BiFPN P3..P7, transposed-conv head) is efficientdet_d0_seg.py.
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
width = 64
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        # the authors pad crops of small images with label 0 (background), not ignore
        seg_pad_val=0,
        size=(512, 512)),
    # the authors call the blocks one by one, without efficientnet_pytorch's drop connect, and
    # leave out the stem's swish; `pretrained`: a local torchvision efficientnet_b0 ImageNet
    # checkpoint (the authors start from ImageNet weights)
    backbone=dict(
        type='BlockTapEfficientNet',
        arch='b0',
        out_blocks=(1, 3, 5, 15),
        stem_act=False,
        drop_path_rate=0.0,
        pretrained=None),
    neck=dict(
        type='SequentialNeck',
        necks=[
            dict(type='EffDetSegFPN', in_channels=[24, 40, 80, 320], out_channels=width),
            dict(type='BiFPNSeg', in_channels=[width] * 6, out_channels=width, num_layers=3)
        ]),
    decode_head=dict(
        type='BiFPNSegHead',
        in_channels=width,
        in_index=0,
        channels=256,
        num_classes=21,
        align_corners=False,
        # nn.CrossEntropyLoss(ignore_index=255): the mean over the labelled pixels
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
