# CPU-sized RetinaNet MobileNetV2-FPN on (synthetic) VOC07+12 from the ImageNet MobileNetV2
# (`python tools/misc/imagenet_weights.py` first): the FPN and head of the CPU R18 baseline
# (retinanet_r18_fpn_cpu.py: 64 channels, 2 head convs) and the 6-epoch AdamW schedule of the
# pretrained CPU configs (cpu_det_pretrained_6e.py). Tests, CPU benchmarks, the methods' CPU
# configs. Run it with --data-root pointing at a VOCdevkit.
_base_ = [
    '../_base_/models/retinanet_mobilenetv2_fpn.py', '../_base_/datasets/voc0712_cpu.py',
    '../_base_/schedules/cpu_det_pretrained_6e.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(
    neck=dict(out_channels=64),
    bbox_head=dict(num_classes=20, in_channels=64, feat_channels=64, stacked_convs=2))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
