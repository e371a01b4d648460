# FRSKD (Ji et al., CVPR 2021) on Faster R-CNN R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py's model; the
# self-teacher (BiFPN over P2..P6 + its own RPN and RoI head, _base_/frskd_faster-rcnn.py) and its
# losses exist only in training: tools/model_converters/export_student.py writes the plain model.
_base_ = ['../faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py', './_base_/frskd_faster-rcnn.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
