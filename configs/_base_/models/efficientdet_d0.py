# EfficientDet-D0 (Tan, Pang, Le; CVPR 2020): EfficientNet-B0 C3..C5 -> 3 BiFPN layers of width
# 64 over P3..P7 -> class/box nets of 3 separable convs. The scaling of D0..D7 is one table,
# skd_det.models.detectors.efficientdet.EFFICIENTDET_SCALING; `compound_coef` checks this config
# against it at build. D1/D2 configs override arch, widths, repeats and input_size.
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
image_size = 512
# TF's BN decay 0.99 and epsilon 1e-3, everywhere
norm_cfg = dict(type='BN', momentum=0.01, eps=1e-3)
model = dict(
    type='EfficientDet',
    compound_coef=0,
    input_size=image_size,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        # every batch gets sides divisible by P7's stride
        pad_size_divisor=128),
    backbone=dict(
        type='TorchvisionEfficientNet',
        arch='b0',
        out_indices=(2, 3, 4),
        norm_cfg=norm_cfg,
        drop_path_rate=0.2,
        pretrained=None),
    # P6 = maxpool(BN(conv1x1(C5))), P7 = maxpool(P6); swish on each fused sum, then one
    # separable conv + BN per node; no resample convs; no ReLU on inputs or resized maps;
    # outputs not activated
    neck=dict(
        type='BiFPN',
        in_channels=[40, 112, 320],
        out_channels=64,
        num_outs=5,
        num_repeats=3,
        act_cfg='swish',
        norm_cfg=norm_cfg,
        fusion_eps=1e-4,
        relu_before_fusion=False,
        act_before_node=True,
        node_num_convs=1,
        lateral_act=False,
        resample_conv=False,
        relu_before_lateral=False,
        relu_before_resample=False,
        out_activation=False),
    bbox_head=dict(
        type='EfficientDetHead',
        num_classes=80,
        in_channels=64,
        feat_channels=64,
        stacked_convs=3,
        num_levels=5,
        norm_cfg=norm_cfg,
        # 9 anchors: sizes 4 * stride * 2**(k/3), k = 0, 1, 2; ratios (h/w) 0.5, 1, 2
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=4,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128],
            center_offset=0.5),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.5, alpha=0.25, loss_weight=1.0),
        # official: 50 * sum Huber_0.1 / (4 * num_pos); Huber_d = d * SmoothL1_d and mmdet divides
        # the sum over the 4 coordinates by num_pos, so the weight is 50 * 0.1 / 4
        loss_bbox=dict(type='SmoothL1Loss', beta=0.1, loss_weight=1.25)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
