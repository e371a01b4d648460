# EfficientDet-D0 segmentation (configs/_base_/models/efficientdet_d0_seg.py, the model of FRSKD's
# VOC results), VOC2012 aug 512x512 crops, 20k iterations, mmseg's FCN recipe
# (configs/fcn/fcn_r50-d8_512x512_voc12aug.py).
_base_ = [
    '../_base_/models/efficientdet_d0_seg.py', '../_base_/datasets/voc12aug.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
model = dict(data_preprocessor=dict(size=crop_size))
