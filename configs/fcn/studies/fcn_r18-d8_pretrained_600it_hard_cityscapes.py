# The segmentation proxy with twice the schedule: 600 iterations of batch 4 (the poly decay
# stretched to match) instead of 300, the same data, seeds and start as the baseline of
# configs/frskd/studies/frskd_fcn_r18-d8_pretrained_hard_cityscapes.py. Does a longer schedule
# narrow the seed spread, as 12 epochs did for detection (configs/retinanet/README.md)?
#   python tools/analysis/run_study.py \
#       configs/fcn/studies/fcn_r18-d8_pretrained_600it_hard_cityscapes.py --jobs 2 --threads 1
_base_ = '../../frskd/studies/frskd_fcn_r18-d8_pretrained_hard_cityscapes.py'
description = ('FCN R18-D8 from the synthetic pretrained ResNetV1c backbone, 600 iterations of '
               'AdamW + poly (twice the proxy\'s 300), hard synthetic Cityscapes: the seed spread '
               'of a longer schedule.')
proxy_iters = 600
cfg_options = dict(
    _base_.cfg_options, **{
        'train_cfg.max_iters': proxy_iters,
        'train_cfg.val_interval': proxy_iters,
        'param_scheduler.1.end': proxy_iters,
        'default_hooks.checkpoint.interval': proxy_iters // 3,
    })
baseline = 'fcn_pretrained_600it'
variants = dict(
    _delete_=True,
    fcn_pretrained_600it=dict(config='../../fcn/fcn_r18-d8_cpu_pretrained_cityscapes.py'))
