# FGFI on the CPU Faster R-CNN R18-FPN with a frozen CPU Faster R-CNN R34-FPN teacher (synthetic
# VOC; tests, CPU benchmarks). The student is exactly configs/faster_rcnn/
# faster-rcnn_r18_fpn_cpu_voc0712.py's model; train the teacher with configs/faster_rcnn/
# faster-rcnn_r34_fpn_cpu_voc0712.py and pass
#   --cfg-options model.teacher.checkpoint=work_dirs/faster-rcnn_r34_fpn_cpu_voc0712/epoch_12.pth
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/fgfi_retinanet.py']
model = dict(
    _base_.fgfi,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.fgfi.teacher, config='configs/faster_rcnn/faster-rcnn_r34_fpn_cpu_voc0712.py'))
# the authors' 400 images without imitation at 4 images per step
custom_hooks = [dict(type='DistillStartHook', begin_iter=100)]
