# FRSKD on the CPU EfficientDet-Lite0 (synthetic VOC at 256x256; ImageNet EfficientNet-Lite0
# from `python tools/misc/imagenet_weights.py`). The student is exactly
# configs/efficientdet/efficientdet_lite0_cpu_voc0712.py's model; the teacher is FRSKD's (BiFPN
# of the student's width 64 over P3..P7 + a copy of its head), as on EfficientDet-D0.
_base_ = ['../efficientdet/efficientdet_lite0_cpu_voc0712.py', './_base_/frskd_efficientdet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
custom_hooks = _base_.frskd_hooks
