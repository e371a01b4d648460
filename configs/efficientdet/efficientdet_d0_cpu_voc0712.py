# CPU-sized EfficientDet-D0 trained from scratch on (synthetic) VOC07+12 at 256x256 (the project's
# CPU VOC data and 12-epoch AdamW schedule, like retinanet_r18_fpn_cpu_voc0712.py): tests, CPU
# benchmarks. The D0 network unchanged; only the input side differs from D0's 512, so the
# scaling is not checked (compound_coef=None). Run it with --data-root pointing at a VOCdevkit.
_base_ = [
    '../_base_/models/efficientdet_d0.py', '../_base_/datasets/voc0712_cpu.py',
    '../_base_/schedules/cpu_det_12e.py', 'mmdet::_base_/default_runtime.py'
]
# BN momentum 0.1 (PyTorch's default) instead of D0's 0.01 (TF's decay 0.99, made for 300 epochs):
# in a run of a few hundred iterations from scratch, running statistics averaged over ~100 steps
# trail the weights and the eval-mode model collapses (hard synthetic VOC, 6 epochs, seed 0:
# 0.15 mAP with 0.01, 5.6 with 0.1; re-estimating the 0.01 model's statistics gave 5.3)
norm_cfg = dict(type='BN', momentum=0.1, eps=1e-3)
model = dict(
    compound_coef=None,
    input_size=256,
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(num_classes=20, norm_cfg=norm_cfg))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
