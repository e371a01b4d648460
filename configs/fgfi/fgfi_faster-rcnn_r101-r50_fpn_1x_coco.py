# FGFI on Faster R-CNN R50-FPN with a frozen Faster R-CNN R101-FPN teacher (the survey's
# setting: R50 baseline 38.8, FGFI 39.8 COCO AP), COCO 2017, 8 GPUs x 2 images. The student is
# exactly configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py's model; the imitation mask comes
# from its RPN anchors, as in the authors' Faster R-CNN. Teacher: configs/faster_rcnn/
# faster-rcnn_r101_fpn_1x_coco.py, weights passed with
#   --cfg-options model.teacher.checkpoint=PATH
_base_ = ['../faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', './_base_/fgfi_retinanet.py']
model = dict(
    _base_.fgfi,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.fgfi.teacher, config='configs/faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'))
