# BYOT (Zhang et al., ICCV 2019) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; the exits and
# their losses exist only in training (configs/byot/README.md):
# tools/model_converters/export_student.py writes the plain student, or with --exit K the early-exit
# model of exit K.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/byot_retinanet.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
