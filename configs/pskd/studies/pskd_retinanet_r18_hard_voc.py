# PS-KD RetinaNet R18 against its baseline on hard synthetic VOC: the protocol of
# configs/frskd/README.md "Measured here" (300 training images, 6 epochs = 450 iterations of
# batch 4, VOC07 mAP on 200 held-out images, one thread per run), three paired seeds, plus
# PS-KD's headline metrics: ECE and AURC of the detections (DetectionCalibrationMetric: a
# detection is correct if it matches an unmatched ground truth of its class at IoU 0.5).
#   python tools/analysis/run_study.py configs/pskd/studies/pskd_retinanet_r18_hard_voc.py
# The calibration evaluator is a test-step option (test_cfg_options): the trained runs stay shared
# with configs/frskd/studies/frskd_retinanet_r18_hard_voc.py's baseline (same data, options, seeds).
# The pretrained-backbone proxy:
# configs/byot/studies/byot_pskd_retinanet_r18_pretrained_hard_voc.py.
description = ('PS-KD (previous-epoch snapshot, soft targets (1-a_t) y + a_t p_prev, a_T = 0.8) '
               'on the CPU RetinaNet R18-FPN from scratch, hard synthetic VOC07+12, 6 epochs: '
               'mAP, ECE and AURC against the baseline (the same seed gives the PS-KD student '
               'the baseline\'s initial weights).')
data = dict(
    type='voc',
    train=dict(num_train=125, num_val=25, seed=0, difficulty='hard'),
    # generator seed 1: held-out images never seen in training (its VOC2007 test split)
    test=dict(num_train=1, num_val=200, seed=1, difficulty='hard'))
baseline = 'retinanet'
variants = dict(
    retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    pskd=dict(config='../pskd_retinanet_r18_fpn_cpu_voc0712.py'))
cfg_options = {
    'train_cfg.max_epochs': 6,
    'train_cfg.val_interval': 6,
    'param_scheduler.1.end': 6,
}
test_cfg_options = {
    'test_evaluator': [
        dict(type='VOCMetric', metric='mAP', eval_mode='11points'),
        dict(type='DetectionCalibrationMetric')
    ],
}
seeds = [0, 1, 2]
metrics = ['pascal_voc/mAP', 'calibration/ECE', 'calibration/AURC']
scale = 100
digits = 2
threads = 1
jobs = 1
