# FRSKD on the CPU Faster R-CNN R18-FPN baseline (synthetic VOC; tests, CPU benchmarks). The student
# is exactly configs/faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py's model; the teacher BiFPN
# keeps the student's FPN width (64) and has its own RPN and RoI head copies.
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/frskd_faster-rcnn.py']
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=_base_.frskd_teacher,
    distill_losses=_base_.frskd_distill_losses)
