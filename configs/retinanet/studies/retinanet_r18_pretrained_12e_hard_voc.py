# The pretrained-backbone proxy with twice the schedule: 12 epochs (900 iterations of batch 4,
# the cosine decay stretched to match) instead of 6, the same data, seeds and start as
# retinanet_r18_pretrained_hard_voc.py. Does a longer schedule narrow the seed spread?
#   python tools/analysis/run_study.py \
#       configs/retinanet/studies/retinanet_r18_pretrained_12e_hard_voc.py --jobs 1 --threads 1
_base_ = './retinanet_r18_pretrained_hard_voc.py'
description = ('RetinaNet R18-FPN from the synthetic pretrained backbone, 12 epochs of AdamW + '
               'cosine (twice the proxy\'s 6), hard synthetic VOC07+12: the seed spread of a '
               'longer schedule.')
baseline = 'retinanet_pretrained_12e'
variants = dict(
    _delete_=True,
    retinanet_pretrained_12e=dict(
        config='../retinanet_r18_fpn_cpu_pretrained_voc0712.py',
        cfg_options={
            'train_cfg.max_epochs': 12,
            'train_cfg.val_interval': 12,
            'param_scheduler.1.end': 12
        }))
