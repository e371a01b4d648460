# BYOT (Zhang et al., ICCV 2019) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; the exits and
# their losses exist only in training (configs/byot/README.md):
# tools/model_converters/export_student.py writes the plain student, or with --exit K the early-exit
# model of exit K.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/byot_retinanet.py']
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=_base_.byot_teacher,
    distill_losses=_base_.byot_distill_losses)
