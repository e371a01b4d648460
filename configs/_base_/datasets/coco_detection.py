# COCO 2017 detection: data/coco/{train2017,val2017,annotations/instances_*2017.json}; COCO AP.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
