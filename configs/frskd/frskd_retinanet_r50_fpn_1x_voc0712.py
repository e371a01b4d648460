# FRSKD (Ji et al., CVPR 2021) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; the
# self-teacher (BiFPN over P3..P7 + its own copy of the head) and its losses exist only in
# training: tools/model_converters/export_student.py writes the plain RetinaNet.
# Detection has no published FRSKD defaults; these are this project's (configs/frskd/README.md).
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/frskd_retinanet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
