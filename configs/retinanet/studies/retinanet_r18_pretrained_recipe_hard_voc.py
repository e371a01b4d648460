# Choosing the pretrained proxy's optimiser (seed 0): mmdet's 1x shape with SGD (linear warm-up
# from 0.001x over 50 iterations, lr / 10 at epochs 4 and 5 of 6, momentum 0.9, weight decay
# 1e-4, gradient-norm clip 35 as mmdet 2.x RetinaNet) at lr 0.01 (batch 4), 4x that, and mmdet's
# lr per image (0.01 / 16 x 4 = 0.0025), the last also with BN statistics re-estimated
# (norm_eval=False), against the configs' AdamW + cosine (the from-scratch CPU optimiser). Same
# data, start and backbone set-up (frozen stem and BN). Results: configs/retinanet/README.md.
#   python tools/analysis/run_study.py \
#       configs/retinanet/studies/retinanet_r18_pretrained_recipe_hard_voc.py --jobs 1 --threads 1
_base_ = './retinanet_r18_pretrained_hard_voc.py'
description = ('The pretrained CPU RetinaNet R18-FPN (frozen stem and BN) with mmdet\'s 1x-shaped '
               'SGD at lr 0.01, 0.04 and 0.0025 (also with BN statistics re-estimated) against '
               'AdamW + cosine (the configs), hard synthetic VOC07+12, 6 epochs.')
_config = '../retinanet_r18_fpn_cpu_pretrained_voc0712.py'
_sgd = {
    'optim_wrapper.optimizer':
    dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    'optim_wrapper.clip_grad.max_norm':
    35,
    'param_scheduler': [
        dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
        dict(type='MultiStepLR', begin=0, end=6, by_epoch=True, milestones=[4, 5], gamma=0.1)
    ]
}
variants = dict(
    _delete_=True,
    sgd_lr001=dict(config=_config, cfg_options=_sgd),
    sgd_lr004=dict(config=_config, cfg_options={
        **_sgd, 'optim_wrapper.optimizer.lr': 0.04
    }),
    sgd_lr00025=dict(config=_config, cfg_options={
        **_sgd, 'optim_wrapper.optimizer.lr': 0.0025
    }),
    # the synthetic weights' BN statistics come from 64 px object crops, not from scenes
    sgd_lr00025_bn_train=dict(
        config=_config,
        cfg_options={
            **_sgd, 'optim_wrapper.optimizer.lr': 0.0025,
            'model.backbone.norm_eval': False
        }),
    retinanet_pretrained=dict(config=_config))
seeds = [0]
