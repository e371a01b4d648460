# EfficientDet-D2, COCO 2017, 768x768: EfficientNet-B2, BiFPN 112 x 5 layers, head 3 layers;
# otherwise efficientdet_d0_coco.py's recipe.
_base_ = './efficientdet_d0_coco.py'
image_size = 768
model = dict(
    compound_coef=2,
    input_size=image_size,
    backbone=dict(arch='b2'),
    neck=dict(in_channels=[48, 120, 352], out_channels=112, num_repeats=5),
    bbox_head=dict(in_channels=112, feat_channels=112, stacked_convs=3))
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
