# LGD and FRSKD on the CPU Faster R-CNN R18-FPN against its baseline on hard synthetic VOC: the
# protocol of configs/frskd/studies/frskd_retinanet_r18_hard_voc.py (300 training images, 6
# epochs = 450 iterations of batch 4, VOC07 mAP on 200 held-out images, one thread per run),
# three paired seeds, one run at a time.
#   python tools/analysis/run_study.py configs/lgd/studies/lgd_faster-rcnn_r18_hard_voc.py
_base_ = '../../frskd/studies/frskd_retinanet_r18_hard_voc.py'
description = ('LGD (the authors\' Faster R-CNN settings, LGDPhaseHook phases as fractions of the '
               'run) and FRSKD (BiFPN + own RPN/RoI head, RoI soft labels) on the CPU Faster '
               'R-CNN R18-FPN from scratch, hard synthetic VOC07+12, 6 epochs; the same seed '
               'gives every student the baseline\'s initial weights.')
baseline = 'faster-rcnn'
variants = dict(
    _delete_=True,
    **{'faster-rcnn': dict(config='../../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py')},
    lgd=dict(config='../lgd_faster-rcnn_r18_fpn_cpu_voc0712.py'),
    frskd=dict(config='../../frskd/frskd_faster-rcnn_r18_fpn_cpu_voc0712.py'))
seeds = [0, 1, 2]
jobs = 1
