# FGFI on RetinaNet R50-FPN with a frozen RetinaNet R101-FPN teacher (the survey's setting),
# VOC07+12 -> VOC2007 test, 8 GPUs x 2 images. The student is exactly
# configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; train the teacher with
# configs/retinanet/retinanet_r101_fpn_1x_voc0712.py and pass
#   --cfg-options model.teacher.checkpoint=work_dirs/retinanet_r101_fpn_1x_voc0712/epoch_4.pth
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/fgfi_retinanet.py']
model = dict(
    _base_.fgfi,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.fgfi.teacher, config='configs/retinanet/retinanet_r101_fpn_1x_voc0712.py'))
