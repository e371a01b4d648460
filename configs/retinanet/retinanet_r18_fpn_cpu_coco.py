# CPU-sized RetinaNet R18-FPN trained from scratch on (synthetic) COCO; COCO AP (pycocotools).
_base_ = [
    '../_base_/models/retinanet_r18_fpn_cpu.py', '../_base_/datasets/coco_detection_cpu.py',
    '../_base_/schedules/cpu_det_12e.py', 'mmdet::_base_/default_runtime.py'
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True))
log_processor = dict(window_size=10)
