# Pascal VOC 07+12 detection: train on VOC2007 trainval + VOC2012 trainval (repeated 3x), test on
# VOC2007 test, VOC07 11-point mAP. Layout: data/VOCdevkit/VOC2007, data/VOCdevkit/VOC2012.
_base_ = 'mmdet::_base_/datasets/voc0712.py'
