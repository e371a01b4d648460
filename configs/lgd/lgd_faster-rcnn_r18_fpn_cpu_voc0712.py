# LGD on the CPU Faster R-CNN R18-FPN baseline (synthetic VOC; tests, CPU benchmarks). The student
# is exactly configs/faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py's model; the label-guided
# teacher uses the student's FPN width (64) for its embeddings and shares its RPN and RoI head. The
# CPU recipe's optimizer and gradient-norm clipping are the baseline's (see
# lgd_retinanet_r18_fpn_cpu_voc0712.py).
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/lgd_faster-rcnn.py']
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(_base_.lgd_teacher, embed_dims=64),
    distill_losses=_base_.lgd_distill_losses)
