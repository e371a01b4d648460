# LGD on the CPU RetinaNet MobileNetV2-FPN (synthetic VOC; ImageNet MobileNetV2 from
# `python tools/misc/imagenet_weights.py`). The student is exactly
# configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py's model; the label-guided teacher
# embeds at the student's FPN width (64), as lgd_retinanet_r18_fpn_cpu_voc0712.py.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/lgd_retinanet.py']
model = dict(
    _base_.lgd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.lgd.teacher, embed_dims=64))
