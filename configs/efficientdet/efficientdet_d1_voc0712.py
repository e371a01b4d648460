# EfficientDet-D1, VOC07+12, 640x640: EfficientNet-B1, BiFPN 88 x 4 layers, head 3 layers;
# otherwise efficientdet_d0_voc0712.py's recipe.
_base_ = './efficientdet_d0_voc0712.py'
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
voc_split = dict(
    type='VOCDataset',
    data_root='data/VOCdevkit/',
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline=train_pipeline)
train_dataloader = dict(
    dataset=dict(
        dataset=dict(datasets=[
            dict(
                **voc_split,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/')),
            dict(
                **voc_split,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/')),
        ])))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
