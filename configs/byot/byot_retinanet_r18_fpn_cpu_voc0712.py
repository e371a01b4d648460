# BYOT (Zhang et al., ICCV 2019) on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, CPU
# benchmarks). The student is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model;
# the exits and their losses exist only in training (configs/byot/README.md):
# tools/model_converters/export_student.py writes the plain student, or with --exit K the early-exit
# model of exit K.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/byot_retinanet.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
