# Pascal VOC 2012 + SBD "aug" segmentation, 512x512 crops: data/VOCdevkit/VOC2012 with
# SegmentationClass/ and SegmentationClassAug/ (see mmseg's dataset preparation); mIoU.
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
