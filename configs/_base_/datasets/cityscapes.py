# Cityscapes fine, 512x1024 crops: data/cityscapes/{leftImg8bit,gtFine}/{train,val} with
# *_gtFine_labelTrainIds.png (made by cityscapesscripts' createTrainIdLabelImgs).
# Testing reports mmseg's mIoU and the official cityscapesscripts evaluation (against
# *_gtFine_labelIds.png), whose PNGs go to a temporary folder.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='CityscapesMetric', output_dir='work_dirs/cityscapes_eval_tmp')
]
