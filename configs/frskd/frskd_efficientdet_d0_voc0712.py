# FRSKD (Ji et al., CVPR 2021) on EfficientDet-D0, VOC07+12 -> VOC2007 test. The student is
# exactly configs/efficientdet/efficientdet_d0_voc0712.py's model; the self-teacher (FRSKD's
# BiFPN of the student's width, 64, over its BiFPN outputs P3..P7 + its own copy of the
# EfficientDet head) and its losses exist only in training: export_student.py writes the plain
# EfficientDet. Detection defaults as for RetinaNet (configs/frskd/README.md).
_base_ = '../efficientdet/efficientdet_d0_voc0712.py'
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
