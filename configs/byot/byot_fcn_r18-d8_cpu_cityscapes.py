# BYOT (Zhang et al., ICCV 2019) on the CPU FCN R18-D8 baseline (synthetic Cityscapes; tests, CPU
# benchmarks). The student is exactly configs/fcn/fcn_r18-d8_cpu_cityscapes.py's model; the exits
# and their losses exist only in training (configs/byot/README.md):
# tools/model_converters/export_student.py writes the plain student, or with --exit K the early-exit
# model of exit K.
_base_ = ['../fcn/fcn_r18-d8_cpu_cityscapes.py', './_base_/byot_fcn.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
