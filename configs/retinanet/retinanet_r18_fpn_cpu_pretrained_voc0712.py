# CPU-sized RetinaNet R18-FPN on (synthetic) VOC07+12 from the synthetic pretrained backbone
# (`python tools/misc/pretrain_backbone.py` first), frozen stem and BN as the real recipes, 6
# epochs of AdamW + cosine (mmdet's SGD 1x shape does not learn in 450 iterations). The
# pretrained-backbone proxy of the seed studies: configs/retinanet/README.md.
_base_ = [
    '../_base_/models/retinanet_r18_fpn_cpu_pretrained.py', '../_base_/datasets/voc0712_cpu.py',
    '../_base_/schedules/cpu_det_pretrained_6e.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(bbox_head=dict(num_classes=20))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
