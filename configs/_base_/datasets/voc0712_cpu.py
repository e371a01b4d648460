# VOC07+12 at CPU scale for the synthetic data (make demo, tests): 256px images, no 3x repeat
# and no 32-px minimum box size (mmdet's VOC filter), which would ignore the small objects.
_base_ = './voc0712.py'
dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'
img_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
voc_split = dict(
    type=dataset_type,
    data_root=data_root,
    filter_cfg=dict(filter_empty_gt=True),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    # workers restart each epoch with the same seeds, so a run resumed at an epoch boundary
    # draws the same augmentations as an uninterrupted one
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                **voc_split,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/')),
            dict(
                **voc_split,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/')),
        ]))
val_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
