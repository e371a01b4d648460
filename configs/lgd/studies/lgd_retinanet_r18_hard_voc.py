# LGD RetinaNet R18 against its baseline on hard synthetic VOC: the protocol of
# configs/frskd/README.md "Measured here" that configs/lgd/README.md "Measured here" uses
# (300 training images, 6 epochs, VOC07 mAP on 200 held-out images, one thread per run), with
# the five paired seeds issue 14 asks for. The baseline runs are those of
# configs/frskd/studies/frskd_retinanet_r18_hard_voc.py (same config and data: run once).
#   python tools/analysis/run_study.py configs/lgd/studies/lgd_retinanet_r18_hard_voc.py
_base_ = '../../frskd/studies/frskd_retinanet_r18_hard_voc.py'
description = ('LGD (label-guided self-distillation, the LGDPhaseHook phases as fractions of '
               'the run) on the CPU RetinaNet R18-FPN from scratch, hard synthetic VOC07+12, '
               '6 epochs; the same seed gives the LGD student the baseline\'s initial weights.')
variants = dict(
    _delete_=True,
    retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    lgd=dict(config='../lgd_retinanet_r18_fpn_cpu_voc0712.py'))
