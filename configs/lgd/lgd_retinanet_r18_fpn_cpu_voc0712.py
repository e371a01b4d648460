# LGD on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, CPU benchmarks). The student
# is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model; the label-guided teacher
# uses the student's FPN width (64) for its embeddings and shares the student's head. The CPU
# recipe's optimizer and gradient-norm clipping (10) are the baseline's, kept so that the comparison
# differs by LGD alone (the authors' per-element clipping at 1.0 is their detectron2 recipe's,
# baseline included: the GPU configs use it).
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/lgd_retinanet.py']
model = dict(
    _base_.lgd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.lgd.teacher, embed_dims=64))
