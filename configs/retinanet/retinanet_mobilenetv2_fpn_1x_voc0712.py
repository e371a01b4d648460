# RetinaNet MobileNetV2-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images:
# retinanet_r50_fpn_1x_voc0712.py with the ImageNet MobileNetV2
# (`python tools/misc/imagenet_weights.py` first).
_base_ = [
    '../_base_/models/retinanet_mobilenetv2_fpn.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/voc0712_1x.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=20))
