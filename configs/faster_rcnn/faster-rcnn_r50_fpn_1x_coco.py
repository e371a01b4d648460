# Faster R-CNN R50-FPN, COCO 2017, 1x schedule, 8 GPUs x 2 images (mmdet's recipe).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
