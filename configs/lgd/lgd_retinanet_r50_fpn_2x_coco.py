# LGD on RetinaNet R50-FPN, COCO 2017, 2x (24 epochs, lr steps at 16 and 22), 8 GPUs x 2
# images: the authors' schedule length (180k iterations). Same model as the 1x config; the
# phases scale with the run (LGDPhaseHook fractions: 30k and 20k of its 180k iterations).
_base_ = './lgd_retinanet_r50_fpn_1x_coco.py'
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22], gamma=0.1)
]
