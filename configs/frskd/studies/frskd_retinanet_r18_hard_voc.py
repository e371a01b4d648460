# FRSKD RetinaNet R18 against its baseline on hard synthetic VOC: the protocol of
# configs/frskd/README.md "Measured here" (300 training images, 6 epochs = 450 iterations of
# batch 4, VOC07 mAP on 200 held-out images, one thread per run, two runs at a time), with the
# five paired seeds issue 14 asks for (seeds 0-2 are the README's three).
#   python tools/analysis/run_study.py configs/frskd/studies/frskd_retinanet_r18_hard_voc.py
description = ('FRSKD (BiFPN self-teacher, attention transfer + soft-label KD) on the CPU '
               'RetinaNet R18-FPN from scratch, hard synthetic VOC07+12, 6 epochs; '
               'the same seed gives the FRSKD student the baseline\'s initial weights.')
data = dict(
    type='voc',
    train=dict(num_train=125, num_val=25, seed=0, difficulty='hard'),
    # generator seed 1: held-out images never seen in training (its VOC2007 test split)
    test=dict(num_train=1, num_val=200, seed=1, difficulty='hard'))
baseline = 'retinanet'
variants = dict(
    retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    frskd=dict(config='../frskd_retinanet_r18_fpn_cpu_voc0712.py'))
cfg_options = {
    'train_cfg.max_epochs': 6,
    'train_cfg.val_interval': 6,
    'param_scheduler.1.end': 6,
}
seeds = [0, 1, 2, 3, 4]
metrics = ['pascal_voc/mAP']
scale = 100
digits = 1
threads = 1
jobs = 2
