# EfficientDet-D0 for semantic segmentation, automl style (not FRSKD's paper model: that is
# configs/_base_/models/effdet-seg_d0.py):
# EfficientNet-B0 C3..C5 -> EfficientDet-D0's BiFPN (P3..P7, width 64, 3 layers) -> the official
# EfficientDet segmentation head (EfficientDetSegHead, logits at stride 4). Plain BN (mmseg's FCN
# recipes use SyncBN on GPUs).
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
norm_cfg = dict(type='BN', momentum=0.01, eps=1e-3)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),
    backbone=dict(
        type='TorchvisionEfficientNet',
        arch='b0',
        out_indices=(2, 3, 4),
        norm_cfg=norm_cfg,
        drop_path_rate=0.2,
        pretrained=None),
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
    # the official EfficientDet segmentation head: transposed convs P7 -> P3 with skips, then
    # to the classes at stride 4
    decode_head=dict(
        type='EfficientDetSegHead',
        in_channels=[64, 64, 64, 64, 64],
        in_index=[0, 1, 2, 3, 4],
        channels=64,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='Swish'),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
