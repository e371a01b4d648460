# CPU-sized EfficientDet-D0 segmentation trained from scratch on (synthetic) VOC12 aug, 192x192
# crops (the project's CPU data and 2k-iteration AdamW schedule, like fcn_r18-d8_cpu_voc12aug.py):
# tests, CPU benchmarks. Run it with --data-root pointing at a VOCdevkit/VOC2012 folder.
_base_ = [
    '../_base_/models/efficientdet_d0_seg.py', '../_base_/datasets/voc12aug_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (192, 192)
model = dict(data_preprocessor=dict(size=crop_size))
log_processor = dict(window_size=10)
