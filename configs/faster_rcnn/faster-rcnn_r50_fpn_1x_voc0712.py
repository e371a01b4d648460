# Faster R-CNN R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images (mmdet's recipe).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/voc0712.py',
    '../_base_/schedules/voc0712_1x.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
