# EfficientDet's augmentation (the official recipe) at D0's 512 px: scale jitter 0.1-2.0 and
# crops of the input size, flip; test images resized to fit it. A leaf of another size (D1: 640,
# D2: 768) rescales them:
#   train_pipeline = [dict(t, **{k: (size, size) for k in ('scale', 'crop_size') if k in t})
#                     for t in _base_.train_pipeline]
# (named apart from the dataset bases' train_pipeline/test_pipeline: mmengine forbids a key in
# two bases)
efficientdet_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
efficientdet_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
