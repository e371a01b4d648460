# BYOT (Zhang et al., ICCV 2019) on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, CPU
# benchmarks). The student is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model;
# the exits and their losses exist only in training (configs/byot/README.md):
# tools/model_converters/export_student.py writes the plain student, or with --exit K the early-exit
# model of exit K.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/byot_retinanet.py']
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=_base_.byot_teacher,
    distill_losses=_base_.byot_distill_losses)
