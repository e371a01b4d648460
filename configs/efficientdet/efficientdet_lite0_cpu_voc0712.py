# CPU-sized EfficientDet-Lite0 on (synthetic) VOC07+12 at the CPU data's 256x256, from the
# ImageNet EfficientNet-Lite0 (`python tools/misc/imagenet_weights.py` first): the network of
# efficientdet_lite0_voc0712.py, with efficientdet_d0_cpu_pretrained_voc0712.py's recipe (BN
# momentum 0.1, stem frozen and BN statistics kept, 6 epochs of AdamW + cosine).
_base_ = ['./efficientdet_d0_cpu_pretrained_voc0712.py', '../_base_/models/efficientdet_lite0.py']
model = dict(
    _base_.efficientdet_lite0,
    input_size=256,
    backbone=dict(
        _base_.efficientdet_lite0.backbone,
        norm_cfg=_base_.norm_cfg,
        # as efficientdet_d0_cpu_pretrained_voc0712.py: the stem and the stride-2 block frozen,
        # BN statistics of the ImageNet weights kept
        frozen_stages=0,
        norm_eval=True))
