# FRSKD on the CPU FCN MobileNetV2-D8 (synthetic Cityscapes; ImageNet MobileNetV2 from
# `python tools/misc/imagenet_weights.py`). The student is exactly
# configs/fcn/fcn_m-v2-d8_cpu_cityscapes.py's model. As on R18-D8
# (frskd_fcn_r18-d8_cpu_cityscapes.py): the D8 backbone has strides 4, 8, 8, 8, so the teacher's
# BiFPN (width 128, the decode head's) takes layer 2 (24 channels, stride 4) and layer 7 (320,
# stride 8, the decode head's input).
_base_ = ['../fcn/fcn_m-v2-d8_cpu_cityscapes.py', './_base_/frskd_fcn.py']
model = dict(
    _base_.frskd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.frskd.teacher, neck=dict(type='BiFPN', out_channels=128)))
