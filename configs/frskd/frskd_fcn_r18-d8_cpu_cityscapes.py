# FRSKD on the CPU FCN R18-D8 baseline (synthetic Cityscapes; tests, CPU benchmarks). The student
# is exactly configs/fcn/fcn_r18-d8_cpu_cityscapes.py's model. The D8 backbone has strides
# 4, 8, 8, 8 and a BiFPN needs halving resolutions, so the teacher takes C1 (stride 4) and C4
# (stride 8, the decode head's input). Authors' segmentation recipe: alpha=1, beta=50, T=1,
# distillation off for the first 2/3 of the run, then a sigmoid ramp.
_base_ = ['../fcn/fcn_r18-d8_cpu_cityscapes.py', './_base_/frskd_fcn.py']
model = dict(
    _base_.frskd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.frskd.teacher, neck=dict(type='BiFPN', out_channels=128)))
