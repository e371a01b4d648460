# FRSKD on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, make-demo scale). The student
# is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model; the teacher BiFPN takes
# the student's FPN width (64).
_base_ = '../retinanet/retinanet_r18_fpn_cpu_voc0712.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    student=_base_.model,
    teacher=dict(type='FRSKDDetTeacher', neck=dict(type='BiFPN', out_channels=64)),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=100.0),
        loss_kd=dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=1.0)))
