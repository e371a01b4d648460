# FRSKD FCN R18-D8 against its baseline on the 600-iteration segmentation proxy
# (configs/fcn/studies/fcn_r18-d8_pretrained_600it_hard_cityscapes.py: its baseline runs are
# shared): the data, seeds and student set-up of frskd_fcn_r18-d8_pretrained_hard_cityscapes.py
# with twice the schedule, where the baseline's seed spread is measured (configs/fcn/README.md).
#   python tools/analysis/run_study.py \
#       configs/frskd/studies/frskd_fcn_r18-d8_pretrained_600it_hard_cityscapes.py \
#       --jobs 2 --threads 1
_base_ = '../../fcn/studies/fcn_r18-d8_pretrained_600it_hard_cityscapes.py'
description = ('FRSKD (BiFPN self-teacher on C1 and C4, attention transfer + pixel-wise soft-label '
               'KD, the authors\' segmentation weights) on the CPU FCN R18-D8 from the synthetic '
               'pretrained ResNetV1c backbone, 600 iterations, hard synthetic Cityscapes; the same '
               'seed gives the FRSKD student the baseline\'s initial weights.')
variants = dict(
    frskd=dict(
        config='../frskd_fcn_r18-d8_cpu_cityscapes.py', cfg_options=_base_.pretrained_student))
