# FCN MobileNetV2-D8, Cityscapes 512x1024 crops, 80k iterations, 4 GPUs x 2 images: mmseg's
# mobilenet-v2-d8_fcn_4xb2-80k_cityscapes-512x1024.py (71.19 mIoU there) with the ImageNet
# MobileNetV2 that `python tools/misc/imagenet_weights.py` writes.
_base_ = [
    '../_base_/models/fcn_m-v2-d8.py', '../_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
