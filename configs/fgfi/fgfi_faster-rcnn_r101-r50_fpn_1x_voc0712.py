# FGFI on Faster R-CNN R50-FPN with a frozen Faster R-CNN R101-FPN teacher, VOC07+12 -> VOC2007
# test, 8 GPUs x 2 images. The student is exactly configs/faster_rcnn/
# faster-rcnn_r50_fpn_1x_voc0712.py's model; the imitation mask comes from its RPN anchors, as in
# the authors' Faster R-CNN. Train the teacher with configs/faster_rcnn/
# faster-rcnn_r101_fpn_1x_voc0712.py and pass
#   --cfg-options model.teacher.checkpoint=work_dirs/faster-rcnn_r101_fpn_1x_voc0712/epoch_4.pth
_base_ = ['../faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py', './_base_/fgfi_retinanet.py']
model = dict(
    _base_.fgfi,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.fgfi.teacher, config='configs/faster_rcnn/faster-rcnn_r101_fpn_1x_voc0712.py'))
