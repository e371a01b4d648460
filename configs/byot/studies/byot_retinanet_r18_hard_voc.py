# BYOT RetinaNet R18 against its baseline on hard synthetic VOC: the protocol of
# configs/frskd/README.md "Measured here" (300 training images, 6 epochs = 450 iterations of
# batch 4, VOC07 mAP on 200 held-out images, one thread per run), three paired seeds, one run at
# a time. The baseline runs are those of configs/frskd/studies/frskd_retinanet_r18_hard_voc.py
# (same config and data: run once). Each exit's mAP: export it from a run's checkpoint with
# tools/model_converters/export_student.py --exit K and test the export (configs/byot/README.md).
#   python tools/analysis/run_study.py configs/byot/studies/byot_retinanet_r18_hard_voc.py
_base_ = '../../frskd/studies/frskd_retinanet_r18_hard_voc.py'
description = ('BYOT (exits on C3 and C4: own FPN + RetinaNet head copy each, distilled from the '
               'student\'s head; the authors\' alpha 0.1, T 3, lambda 1e-6) on the CPU '
               'RetinaNet R18-FPN from scratch, hard synthetic VOC07+12, 6 epochs; the same seed '
               'gives the BYOT student the baseline\'s initial weights.')
variants = dict(
    _delete_=True,
    retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
    byot=dict(config='../byot_retinanet_r18_fpn_cpu_voc0712.py'))
seeds = [0, 1, 2]
jobs = 1
