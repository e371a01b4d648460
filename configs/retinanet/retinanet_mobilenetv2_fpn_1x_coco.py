# RetinaNet MobileNetV2-FPN, COCO 2017, 1x, 8 GPUs x 2 images: retinanet_r50_fpn_1x_coco.py with
# the ImageNet MobileNetV2 (`python tools/misc/imagenet_weights.py` first).
_base_ = [
    '../_base_/models/retinanet_mobilenetv2_fpn.py', '../_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
