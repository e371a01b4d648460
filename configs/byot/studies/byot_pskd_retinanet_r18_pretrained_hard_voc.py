# BYOT and PS-KD RetinaNet R18 against their baseline on the pretrained-backbone proxy (issues 14
# and 16): configs/frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py's data, baseline runs
# and student set-up (pretrained backbone, frozen stem and BN, SGD 1x shape, 6 epochs), three
# paired seeds, plus PS-KD's headline metrics on the same trained runs: ECE and AURC of the
# detections (test_cfg_options: the training runs stay shared with the mAP-only studies).
# The baseline is listed last, so a runner started while another study trains the same baseline
# runs reaches them after those are finished.
#   python tools/misc/pretrain_backbone.py        # once: the backbone weights
#   python tools/analysis/run_study.py \
#       configs/byot/studies/byot_pskd_retinanet_r18_pretrained_hard_voc.py --jobs 1 --threads 1
_base_ = '../../frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py'
description = ('BYOT (exits on C3 and C4, alpha 0.1, T 3, lambda 1e-6) and PS-KD (previous-epoch '
               'snapshot, a_T = 0.8) on the CPU RetinaNet R18-FPN from the synthetic pretrained '
               'backbone (frozen stem and BN, SGD 1x shape, 6 epochs), hard synthetic VOC07+12: '
               'mAP, ECE and AURC; the same seed gives every student the baseline\'s initial '
               'weights.')
variants = dict(
    _delete_=True,
    byot=dict(
        config='../byot_retinanet_r18_fpn_cpu_voc0712.py', cfg_options=_base_.pretrained_student),
    pskd=dict(
        config='../../pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options=_base_.pretrained_student),
    retinanet_pretrained=dict(config='../../retinanet/retinanet_r18_fpn_cpu_pretrained_voc0712.py'))
test_cfg_options = {
    'test_evaluator': [
        dict(type='VOCMetric', metric='mAP', eval_mode='11points'),
        dict(type='DetectionCalibrationMetric')
    ],
}
seeds = [0, 1, 2]
metrics = ['pascal_voc/mAP', 'calibration/ECE', 'calibration/AURC']
digits = 2
