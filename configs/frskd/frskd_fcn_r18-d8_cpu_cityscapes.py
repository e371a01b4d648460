# FRSKD on the CPU FCN R18-D8 baseline (synthetic Cityscapes; tests, CPU benchmarks). The student
# is exactly configs/fcn/fcn_r18-d8_cpu_cityscapes.py's model. The D8 backbone has strides
# 4, 8, 8, 8 and a BiFPN needs halving resolutions, so the teacher takes C1 (stride 4) and C4
# (stride 8, the decode head's input). Authors' segmentation recipe: alpha=1, beta=50, T=1,
# distillation off for the first 2/3 of the run, then a sigmoid ramp.
_base_ = '../fcn/fcn_r18-d8_cpu_cityscapes.py'
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(
        type='FRSKDSegTeacher', in_indices=(0, 3), neck=dict(type='BiFPN', out_channels=128)),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=50.0),
        loss_kd=dict(type='PixelKLLoss', temperature=1.0, loss_weight=1.0)))
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
