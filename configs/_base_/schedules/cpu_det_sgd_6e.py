# The shape of mmdet's 1x schedule (SGD, momentum 0.9, weight decay 1e-4, linear warm-up from
# 0.001x, lr divided by 10 at 8/12 and 11/12 of the run) shortened to 6 epochs for CPU
# detectors that start from a pretrained backbone (the *_pretrained configs). Batch 4 at lr 0.01:
# mmdet's RetinaNet lr per batch of 16, not scaled down (450 iterations are far fewer than 90k).
# Gradient-norm clipping at 35 as mmdet 2.x's RetinaNet recipe (`grad_clip=dict(max_norm=35)`).
max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    # epochs 4 and 5 of 6: the nearest whole epochs to 8/12 and 11/12 of mmdet's 1x
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[4, 5], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
randomness = dict(seed=0)
