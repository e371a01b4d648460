# BYOT on RetinaNet MobileNetV2-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images, from the
# ImageNet MobileNetV2 (`python tools/misc/imagenet_weights.py`):
# byot_retinanet_r50_fpn_1x_voc0712.py with
# configs/retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py's model as the student (exits on
# C3 and C4).
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py', './_base_/byot_retinanet.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
