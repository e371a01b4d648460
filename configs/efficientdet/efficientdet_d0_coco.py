# EfficientDet-D0, COCO 2017, 512x512, the official recipe: scale jitter 0.1-2.0 + 512 crops,
# SGD lr 0.16 for 8 GPUs x 16 images, cosine decay over 300 epochs, EMA of the weights.
# Backbone from scratch unless model.backbone.pretrained names a local torchvision
# efficientnet_b0 checkpoint (the official models start from ImageNet weights).
_base_ = [
    '../_base_/models/efficientdet_d0.py', '../_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py', './_base_/efficientdet_pipelines.py'
]
train_pipeline = _base_.efficientdet_train_pipeline
test_pipeline = _base_.efficientdet_test_pipeline
train_dataloader = dict(batch_size=16, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 300
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.16, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=0.0)
]
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        priority=49)
]
auto_scale_lr = dict(enable=False, base_batch_size=128)
