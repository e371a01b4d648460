# FCN R18-D8 sized for a 2-core CPU (tests, CPU benchmarks), on synthetic Cityscapes, trained
# from scratch (BN trains; no pretrained weights can be fetched here).
_base_ = [
    'mmseg::_base_/models/fcn_r50-d8.py', '../_base_/datasets/cityscapes_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (128, 256)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=512, channels=128, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=64, norm_cfg=norm_cfg))
log_processor = dict(window_size=10)
