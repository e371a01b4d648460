# EfficientDet-D1, COCO 2017, 640x640: EfficientNet-B1, BiFPN 88 x 4 layers, head 3 layers;
# otherwise efficientdet_d0_coco.py's recipe.
_base_ = './efficientdet_d0_coco.py'
image_size = 640
model = dict(
    compound_coef=1,
    input_size=image_size,
    backbone=dict(arch='b1'),
    neck=dict(in_channels=[40, 112, 320], out_channels=88, num_repeats=4),
    bbox_head=dict(in_channels=88, feat_channels=88, stacked_convs=3))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomResize',
        scale=(image_size, image_size),
        ratio_range=(0.1, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=(image_size, image_size)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
