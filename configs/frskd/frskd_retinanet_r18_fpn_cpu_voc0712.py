# FRSKD on the CPU RetinaNet R18-FPN baseline (synthetic VOC; tests, make-demo scale). The student
# is exactly configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's model; the teacher BiFPN takes
# the student's FPN width (64) and has its own head copy. Detection defaults:
# configs/frskd/README.md.
_base_ = '../retinanet/retinanet_r18_fpn_cpu_voc0712.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillDetector',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(
        type='FRSKDDetTeacher',
        neck=dict(type='BiFPN', out_channels=64),
        tap='neck',
        shared_head=False,
        kd_avg_factor='mean'),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=100.0),
        loss_kd=dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=100.0)))
# distillation off while the teacher learns (first 2/3), then a sigmoid ramp (the authors'
# segmentation schedule)
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
