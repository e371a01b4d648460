# RetinaNet R18-FPN sized for a 2-core CPU (retinanet_r18_fpn_cpu.py) started as the real recipes
# start, from a pretrained backbone: the synthetic stand-in for ImageNet weights that
# `python tools/misc/pretrain_backbone.py` writes with its default recipe (run it once; the
# file name hashes the recipe). As mmdet's R50 configs: stem and first stage frozen, BN
# statistics kept from the pretraining (norm_eval; BN affine parameters of later stages train).
_base_ = './retinanet_r18_fpn_cpu.py'
model = dict(
    backbone=dict(
        frozen_stages=1,
        norm_eval=True,
        # the from-scratch base has init_cfg=None: replace it, do not merge into it
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='~/.cache/skd_det/pretrained/resnet18_616019f0d5.pth')))
