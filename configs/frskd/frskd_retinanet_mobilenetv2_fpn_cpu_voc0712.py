# FRSKD on the CPU RetinaNet MobileNetV2-FPN (synthetic VOC; ImageNet MobileNetV2 from
# `python tools/misc/imagenet_weights.py`). The student is exactly
# configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py's model; the teacher BiFPN takes its
# FPN width (64) and has its own head copy. Detection defaults: configs/frskd/README.md.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/frskd_retinanet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
