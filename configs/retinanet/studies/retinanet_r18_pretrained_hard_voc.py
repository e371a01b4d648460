# The pretrained-backbone proxy's own noise: the CPU RetinaNet R18-FPN from the synthetic
# pretrained backbone (configs/retinanet/retinanet_r18_fpn_cpu_pretrained_voc0712.py: frozen stem
# and BN, AdamW + cosine, 6 epochs = 450 iterations of batch 4) on the hard
# synthetic VOC protocol of configs/frskd/README.md "Measured here" (300 training images, VOC07
# mAP on 200 held-out images), 5 seeds, one run at a time on one thread. Run
#   python tools/misc/pretrain_backbone.py        # once: the backbone weights
#   python tools/analysis/run_study.py \
#       configs/retinanet/studies/retinanet_r18_pretrained_hard_voc.py --jobs 1 --threads 1
# The from-scratch baseline of the same data and seeds is
# configs/frskd/studies/frskd_retinanet_r18_hard_voc.py's `retinanet` (its runs are shared).
description = (
    'RetinaNet R18-FPN from the synthetic pretrained backbone (frozen stem and BN, '
    'AdamW + cosine, 6 epochs) on hard synthetic VOC07+12: the seed-to-seed spread of the '
    'pretrained-backbone proxy.')
data = dict(
    type='voc',
    train=dict(num_train=125, num_val=25, seed=0, difficulty='hard'),
    # generator seed 1: held-out images never seen in training (its VOC2007 test split)
    test=dict(num_train=1, num_val=200, seed=1, difficulty='hard'))
baseline = 'retinanet_pretrained'
variants = dict(retinanet_pretrained=dict(config='../retinanet_r18_fpn_cpu_pretrained_voc0712.py'))
seeds = [0, 1, 2, 3, 4]
metrics = ['pascal_voc/mAP']
scale = 100
digits = 1
threads = 1
jobs = 1
