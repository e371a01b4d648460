# EfficientDet-D0, VOC07+12 -> VOC2007 test, 512x512: the model and augmentation of
# efficientdet_d0_coco.py (scale jitter 0.1-2.0 + 512 crops) with 20 classes, on the project's
# VOC 1x length (4 epochs of the 3x-repeated set); SGD lr 0.16 for 8 GPUs x 16 images.
_base_ = [
    '../_base_/models/efficientdet_d0.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/voc0712_1x.py', 'mmdet::_base_/default_runtime.py',
    './_base_/efficientdet_pipelines.py'
]
model = dict(bbox_head=dict(num_classes=20))
train_pipeline = _base_.efficientdet_train_pipeline
test_pipeline = _base_.efficientdet_test_pipeline
voc_split = dict(
    type='VOCDataset',
    data_root='data/VOCdevkit/',
    filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
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
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.16, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=4, eta_min=0.0)
]
auto_scale_lr = dict(enable=False, base_batch_size=128)
