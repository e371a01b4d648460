# LGD (Zhang et al., AAAI 2022) on RetinaNet R50-FPN, COCO 2017, 1x, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_coco.py's model; the
# label-guided teacher (label encoder, appearance encoder, relation adapter, knowledge mapper,
# student-side adapter; 10.07M parameters) shares the student's head and exists only in
# training: tools/model_converters/export_student.py writes the plain RetinaNet.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_coco.py', './_base_/lgd_retinanet.py']
model = dict(_base_.lgd, _delete_=True, student=_base_.model)
# authors: per-element gradient clipping at 1.0
optim_wrapper = dict(clip_grad=dict(type='value', clip_value=1.0))
