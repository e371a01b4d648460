# PS-KD on RetinaNet MobileNetV2-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images, from the
# ImageNet MobileNetV2 (`python tools/misc/imagenet_weights.py`):
# pskd_retinanet_r50_fpn_1x_voc0712.py with
# configs/retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py's model as the student.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py', './_base_/pskd_retinanet.py']
model = dict(_base_.pskd, _delete_=True, student=_base_.model)
# as the R50 config: refresh after every pass over the 16551 images (1035 iterations of 16)
custom_hooks = [dict(type='PSKDHook', interval=1035)]
