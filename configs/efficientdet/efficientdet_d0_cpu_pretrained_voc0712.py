# CPU-sized EfficientDet-D0 on (synthetic) VOC07+12 (efficientdet_d0_cpu_voc0712.py) from the
# synthetic pretrained EfficientNet-B0 that
# `python tools/misc/pretrain_backbone.py --arch efficientnet-b0` writes with its default recipe
# (run it once; the file name hashes the recipe), stem frozen and BN statistics kept, 6 epochs of
# AdamW + cosine: the RetinaNet R18 pretrained-backbone proxy's recipe
# (retinanet_r18_fpn_cpu_pretrained_voc0712.py, configs/retinanet/README.md) on EfficientDet.
_base_ = './efficientdet_d0_cpu_voc0712.py'
model = dict(
    backbone=dict(
        # the stem and the stride-2 block: mmdet's EfficientNet recipes freeze the stem
        # (frozen_stages=0); this class freezes whole levels, the first ends after that block
        frozen_stages=0,
        # BN statistics of the pretraining kept, as mmdet's ResNet recipes at small batches: the
        # official EfficientDet trains them, but on synchronised batches of 128, not 4 images
        norm_eval=True,
        # TorchvisionEfficientNet loads ImageNet weights through `pretrained` (it takes no
        # init_cfg) and does not expand `~`: the home directory comes from the environment
        pretrained='{{$HOME:~}}/.cache/skd_det/pretrained/efficientnet-b0_081d1a4310.pth'))
# cpu_det_pretrained_6e.py's schedule, written over the from-scratch base's 12 epochs (mmengine
# takes no key from two bases): the same optimiser, the cosine decay ending with the 6 epochs
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_epochs)]
