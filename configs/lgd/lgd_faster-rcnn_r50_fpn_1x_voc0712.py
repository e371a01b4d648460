# LGD (Zhang et al., AAAI 2022) on Faster R-CNN R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2
# images.
# The student is exactly configs/faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py's model; the
# label-guided teacher (the authors' Faster R-CNN settings, _base_/lgd_faster-rcnn.py) shares its
# RPN and RoI head and exists only in training.
_base_ = ['../faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py', './_base_/lgd_faster-rcnn.py']
model = dict(_base_.lgd, _delete_=True, student=_base_.model)
# authors (detectron2's CLIP_GRADIENTS in their Base-RCNN-FPN.yaml): per-element clipping at 1.0
optim_wrapper = dict(clip_grad=dict(type='value', clip_value=1.0))
