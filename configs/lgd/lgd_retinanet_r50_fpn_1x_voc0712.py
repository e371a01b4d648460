# LGD (Zhang et al., AAAI 2022) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2
# images. The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model;
# the label-guided teacher shares its head and exists only in training.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/lgd_retinanet.py']
model = dict(_base_.lgd, _delete_=True, student=_base_.model)
# authors: per-element gradient clipping at 1.0
optim_wrapper = dict(clip_grad=dict(type='value', clip_value=1.0))
