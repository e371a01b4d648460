# FCN R50-D8, Cityscapes 512x1024 crops, 40k iterations, 4 GPUs x 2 images (mmseg's recipe).
_base_ = [
    'mmseg::_base_/models/fcn_r50-d8.py', '../_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_40k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
