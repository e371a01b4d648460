# KD from a trained CPU RetinaNet MobileNetV2-FPN into the same model (synthetic VOC; ImageNet
# MobileNetV2 from `python tools/misc/imagenet_weights.py`): the positive control of issue 27.
# The student is exactly configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py's model; train
# the teacher with that config (a longer schedule) and pass
#   --cfg-options model.teacher.checkpoint=PATH
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/kd_retinanet.py']
model = dict(
    _base_.kd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.kd.teacher, config='configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py'))
