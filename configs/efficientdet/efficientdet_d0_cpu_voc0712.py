# CPU-sized EfficientDet-D0 trained from scratch on (synthetic) VOC07+12 at 256x256 (the project's
# CPU VOC data and 12-epoch AdamW schedule, like retinanet_r18_fpn_cpu_voc0712.py): tests, CPU
# benchmarks. The D0 network unchanged; only the input side differs from D0's 512, so the
# scaling is not checked (compound_coef=None). Run it with --data-root pointing at a VOCdevkit.
_base_ = [
    '../_base_/models/efficientdet_d0.py', '../_base_/datasets/voc0712_cpu.py',
    '../_base_/schedules/cpu_det_12e.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(compound_coef=None, input_size=256, bbox_head=dict(num_classes=20))
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
