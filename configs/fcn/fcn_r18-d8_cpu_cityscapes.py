# CPU-sized FCN R18-D8 trained from scratch on (synthetic) Cityscapes, 128x256 crops: tests,
# CPU benchmarks. Run it with --data-root pointing at a cityscapes folder.
_base_ = [
    '../_base_/models/fcn_r18-d8_cpu.py', '../_base_/datasets/cityscapes_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (128, 256)
model = dict(data_preprocessor=dict(size=crop_size))
log_processor = dict(window_size=10)
