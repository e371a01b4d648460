# PS-KD on the CPU FCN R18-D8 baseline (synthetic Cityscapes; tests, CPU benchmarks). The student
# is exactly configs/fcn/fcn_r18-d8_cpu_cityscapes.py's model; the snapshot is refreshed after
# every pass over the training data.
_base_ = ['../fcn/fcn_r18-d8_cpu_cityscapes.py', './_base_/pskd_fcn.py']
model = dict(_base_.pskd, _delete_=True, student=_base_.model)
