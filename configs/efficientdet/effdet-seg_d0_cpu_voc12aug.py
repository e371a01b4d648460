# CPU-sized FRSKD segmentation baseline (the paper's model, configs/_base_/models/effdet-seg_d0.py)
# from scratch on (synthetic) VOC12 aug, 192x192 crops, the project's 2k-iteration AdamW schedule
# (as efficientdet_d0_seg_cpu_voc12aug.py): tests, CPU benchmarks. --data-root VOCdevkit/VOC2012.
_base_ = [
    '../_base_/models/effdet-seg_d0.py', '../_base_/datasets/voc12aug_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (192, 192)
model = dict(data_preprocessor=dict(size=crop_size))
log_processor = dict(window_size=10)
