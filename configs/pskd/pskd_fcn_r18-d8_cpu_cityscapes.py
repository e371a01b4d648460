# PS-KD on the CPU FCN R18-D8 baseline (synthetic Cityscapes; tests, CPU benchmarks). The student
# is exactly configs/fcn/fcn_r18-d8_cpu_cityscapes.py's model; the snapshot is refreshed after
# every pass over the training data.
_base_ = ['../fcn/fcn_r18-d8_cpu_cityscapes.py', './_base_/pskd_fcn.py']
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=_base_.pskd_teacher,
    distill_losses=_base_.pskd_distill_losses)
