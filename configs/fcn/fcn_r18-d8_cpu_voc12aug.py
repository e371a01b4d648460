# CPU-sized FCN R18-D8 trained from scratch on (synthetic) VOC12 aug, 192x192 crops.
# Run it with --data-root pointing at a VOCdevkit/VOC2012 folder.
_base_ = [
    '../_base_/models/fcn_r18-d8_cpu.py', '../_base_/datasets/voc12aug_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (192, 192)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
log_processor = dict(window_size=10)
