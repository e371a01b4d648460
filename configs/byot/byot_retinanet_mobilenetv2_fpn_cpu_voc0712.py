# BYOT on the CPU RetinaNet MobileNetV2-FPN (synthetic VOC; ImageNet MobileNetV2 from
# `python tools/misc/imagenet_weights.py`). The student is exactly
# configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py's model; exits on C3 and C4 (32 and
# 96 channels), which exist only in training.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/byot_retinanet.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
