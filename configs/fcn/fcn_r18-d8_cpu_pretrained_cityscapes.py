# CPU-sized FCN R18-D8 on (synthetic) Cityscapes from the synthetic pretrained ResNetV1c backbone
# (`python tools/misc/pretrain_backbone.py --deep-stem` first; the file name hashes its recipe),
# with the shape of mmseg's recipe (schedule_40k): SGD lr 0.01, momentum 0.9, weight decay 5e-4,
# poly decay (power 0.9, to 1e-4), no warm-up, no clipping; mmseg freezes nothing (BN trains).
_base_ = './fcn_r18-d8_cpu_cityscapes.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='~/.cache/skd_det/pretrained/resnet18_v1c_439b45a3fa.pth')))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False, begin=0, end={{_base_.max_iters}})
]
