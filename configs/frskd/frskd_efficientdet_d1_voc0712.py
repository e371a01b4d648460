# FRSKD (Ji et al., CVPR 2021) on EfficientDet-D1, VOC07+12 -> VOC2007 test. The student is
# exactly configs/efficientdet/efficientdet_d1_voc0712.py's model; the self-teacher (FRSKD's
# BiFPN of the student's width, 88, over its BiFPN outputs P3..P7 + its own copy of the
# EfficientDet head) and its losses exist only in training: export_student.py writes the plain
# EfficientDet. Detection defaults as for RetinaNet (configs/frskd/README.md).
_base_ = ['../efficientdet/efficientdet_d1_voc0712.py', './_base_/frskd_efficientdet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
custom_hooks = _base_.frskd_hooks
