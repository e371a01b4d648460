# FCN R50-D8, VOC2012 aug 512x512 crops, 20k iterations, 4 GPUs x 4 images (mmseg's recipe).
_base_ = [
    'mmseg::_base_/models/fcn_r50-d8.py', '../_base_/datasets/voc12aug.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
