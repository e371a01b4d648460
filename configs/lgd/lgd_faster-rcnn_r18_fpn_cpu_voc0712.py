# LGD on the CPU Faster R-CNN R18-FPN baseline (synthetic VOC; tests, CPU benchmarks). The student
# is exactly configs/faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py's model; the label-guided
# teacher uses the student's FPN width (64) for its embeddings and shares its RPN and RoI head. The
# CPU recipe's optimizer and gradient-norm clipping are the baseline's (see
# lgd_retinanet_r18_fpn_cpu_voc0712.py).
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/lgd_faster-rcnn.py']
model = dict(
    _base_.lgd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.lgd.teacher, embed_dims=64))
