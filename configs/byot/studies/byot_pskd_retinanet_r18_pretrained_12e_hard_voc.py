# BYOT and PS-KD RetinaNet R18 against their baseline on the 12-epoch pretrained-backbone proxy
# (issue 14): as configs/lgd/studies/lgd_retinanet_r18_pretrained_12e_hard_voc.py (same data,
# seeds, baseline runs and student set-up), BYOT's and PS-KD's CPU configs in place of LGD's, plus
# PS-KD's headline metrics on the same trained runs: ECE and AURC of the detections
# (test_cfg_options: the training runs stay shared with the mAP-only studies). PS-KD's
# alpha_t = a_T * t / T counts epochs of the run, so it stretches with the schedule.
#   python tools/analysis/run_study.py \
#       configs/byot/studies/byot_pskd_retinanet_r18_pretrained_12e_hard_voc.py --jobs 2 --threads 1
_base_ = '../../frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py'
description = ('BYOT (exits on C3 and C4, alpha 0.1, T 3, lambda 1e-6) and PS-KD (previous-epoch '
               'snapshot, a_T = 0.8) on the CPU RetinaNet R18-FPN from the synthetic pretrained '
               'backbone (frozen stem and BN, AdamW + cosine, 12 epochs), hard synthetic VOC07+12: '
               'mAP, ECE and AURC; the same seed gives every student the baseline\'s initial '
               'weights.')
variants = dict(
    _delete_=True,
    retinanet_pretrained_12e=_base_.variants.retinanet_pretrained_12e,
    pskd=dict(
        config='../../pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options=_base_.pretrained_student_12e),
    byot=dict(
        config='../byot_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options=_base_.pretrained_student_12e))
test_cfg_options = {
    'test_evaluator': [
        dict(type='VOCMetric', metric='mAP', eval_mode='11points'),
        dict(type='DetectionCalibrationMetric')
    ],
}
metrics = ['pascal_voc/mAP', 'calibration/ECE', 'calibration/AURC']
digits = 2
