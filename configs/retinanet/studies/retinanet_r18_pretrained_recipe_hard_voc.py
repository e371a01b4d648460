# Choosing the pretrained proxy's optimiser (seed 0 first): with mmdet's 1x shape at lr 0.01
# (batch 4) the pretrained CPU RetinaNet's loss_cls stays at 1.1 until the first lr step
# (configs/retinanet/README.md), so this compares, on the same data and start, SGD at mmdet's
# lr per image (0.01 / 16 x 4 = 0.0025) and 4x above 0.01, and the from-scratch config's AdamW
# with cosine decay (the backbone set-up, frozen stem and BN, unchanged); and BN statistics
# re-estimated (norm_eval=False).
#   python tools/analysis/run_study.py \
#       configs/retinanet/studies/retinanet_r18_pretrained_recipe_hard_voc.py --jobs 1 --threads 1
_base_ = './retinanet_r18_pretrained_hard_voc.py'
description = ('The pretrained CPU RetinaNet R18-FPN (frozen stem and BN) with SGD lr 0.01 '
               '(mmdet 1x shape), SGD lr 0.04 and 0.0025, and AdamW + cosine (the from-scratch '
               'CPU recipe), hard synthetic VOC07+12, 6 epochs.')
_config = '../retinanet_r18_fpn_cpu_pretrained_voc0712.py'
variants = dict(
    _delete_=True,
    sgd_lr004=dict(config=_config, cfg_options={'optim_wrapper.optimizer.lr': 0.04}),
    sgd_lr00025=dict(config=_config, cfg_options={'optim_wrapper.optimizer.lr': 0.0025}),
    # the synthetic weights' BN statistics come from 64 px object crops, not from scenes
    sgd_lr00025_bn_train=dict(
        config=_config,
        cfg_options={
            'optim_wrapper.optimizer.lr': 0.0025,
            'model.backbone.norm_eval': False
        }),
    adamw=dict(
        config=_config,
        cfg_options={
            'optim_wrapper.optimizer':
            dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05),
            'optim_wrapper.clip_grad.max_norm':
            10,
            'param_scheduler': [
                dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
                dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=6, eta_min=2e-5)
            ]
        }),
    retinanet_pretrained=dict(config=_config))
seeds = [0]
