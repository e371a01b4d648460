# BYOT and PS-KD RetinaNet R18 against their shared baseline on hard synthetic VOC from scratch
# (the protocol of configs/frskd/README.md "Measured here"), three paired seeds, mAP plus ECE and
# AURC of the detections on the same trained runs (test_cfg_options of the PS-KD study). Its runs
# are those of configs/byot/studies/byot_retinanet_r18_hard_voc.py and
# configs/pskd/studies/pskd_retinanet_r18_hard_voc.py: one command runs both.
#   python tools/analysis/run_study.py configs/byot/studies/byot_pskd_retinanet_r18_hard_voc.py
_base_ = '../../pskd/studies/pskd_retinanet_r18_hard_voc.py'
description = ('BYOT (exits on C3 and C4, alpha 0.1, T 3, lambda 1e-6) and PS-KD (previous-epoch '
               'snapshot, a_T = 0.8) on the CPU RetinaNet R18-FPN from scratch, hard synthetic '
               'VOC07+12, 6 epochs: mAP, ECE and AURC; the same seed gives every student the '
               'baseline\'s initial weights.')
variants = dict(
    _delete_=True,
    retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    byot=dict(config='../byot_retinanet_r18_fpn_cpu_voc0712.py'),
    pskd=dict(config='../../pskd/pskd_retinanet_r18_fpn_cpu_voc0712.py'))
jobs = 2
