# CPU-sized FCN MobileNetV2-D8 on (synthetic) Cityscapes, 128x256 crops, from the ImageNet
# MobileNetV2 (`python tools/misc/imagenet_weights.py` first): plain BN (SyncBN needs a
# distributed GPU run) and the heads of the CPU R18-D8 baseline (fcn_r18-d8_cpu.py: 128 and 64
# channels); nothing frozen and BN trains, as mmseg's recipe; the CPU AdamW + poly schedule
# (fcn_r18-d8_cpu_pretrained_cityscapes.py's reasons). Tests, CPU benchmarks.
_base_ = [
    '../_base_/models/fcn_m-v2-d8.py', '../_base_/datasets/cityscapes_cpu.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/cpu_seg_2k.py'
]
crop_size = (128, 256)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(channels=128, norm_cfg=norm_cfg),
    auxiliary_head=dict(channels=64, norm_cfg=norm_cfg))
log_processor = dict(window_size=10)
