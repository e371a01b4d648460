# CPU-sized Faster R-CNN R18-FPN trained from scratch on (synthetic) VOC07+12: tests, CPU
# benchmarks, the two-stage studies. Run it with --data-root pointing at a VOCdevkit.
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_cpu.py', '../_base_/datasets/voc0712_cpu.py',
    '../_base_/schedules/cpu_det_12e.py', 'mmdet::_base_/default_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
