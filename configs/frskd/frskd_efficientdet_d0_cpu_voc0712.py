# FRSKD on the CPU EfficientDet-D0 baseline (synthetic VOC at 256x256; tests, CPU benchmarks). The
# student is exactly configs/efficientdet/efficientdet_d0_cpu_voc0712.py's model; the teacher is
# frskd_efficientdet_d0_voc0712.py's (FRSKD BiFPN of width 64 over P3..P7 + a head copy).
_base_ = '../efficientdet/efficientdet_d0_cpu_voc0712.py'
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
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
