# FRSKD on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, make-demo scale). The student
# is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model; the teacher BiFPN takes
# the student's FPN width (64) and has its own head copy. Detection defaults:
# configs/frskd/README.md.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/frskd_retinanet.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
