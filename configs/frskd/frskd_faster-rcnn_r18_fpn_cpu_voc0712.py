# FRSKD on the CPU Faster R-CNN R18-FPN baseline (synthetic VOC; tests, CPU benchmarks). The student
# is exactly configs/faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py's model; the teacher BiFPN
# keeps the student's FPN width (64) and has its own RPN and RoI head copies.
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/frskd_faster-rcnn.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
