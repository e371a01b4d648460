# Cityscapes fine, 512x1024 crops: data/cityscapes/{leftImg8bit,gtFine}/{train,val} with
# *_gtFine_labelTrainIds.png (made by cityscapesscripts' createTrainIdLabelImgs); mIoU.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
