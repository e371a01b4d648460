# COCO at CPU scale for the synthetic data (tests, CPU benchmarks): 256px images.
_base_ = './coco_detection.py'
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
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
