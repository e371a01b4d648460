# FGFI on the CPU RetinaNet MobileNetV2-FPN with a frozen teacher of the same model trained longer
# (the imitation form of issue 27's positive control). The student is exactly configs/retinanet/
# retinanet_mobilenetv2_fpn_cpu_voc0712.py's model; train the teacher with that config and pass
#   --cfg-options model.teacher.checkpoint=PATH
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/fgfi_retinanet.py']
model = dict(
    _base_.fgfi,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.fgfi.teacher, config='configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py'))
# the authors' 400 images without imitation at 4 images per step
custom_hooks = [dict(type='DistillStartHook', begin_iter=100)]
