# FRSKD (Ji et al., CVPR 2021) on FCN R50-D8, Cityscapes 512x1024 crops, 40k iterations. The
# student is exactly configs/fcn/fcn_r50-d8_512x1024_cityscapes.py's model. The D8 backbone has
# strides 4, 8, 8, 8 and a BiFPN needs halving resolutions, so the teacher takes C1 (stride 4)
# and C4 (stride 8, the decode head's input); its head is a copy of the FCN head. Authors'
# segmentation recipe: alpha=1, beta=50, T=1, distillation off for the first 2/3 of the run,
# then a sigmoid ramp.
_base_ = '../fcn/fcn_r50-d8_512x1024_cityscapes.py'
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(
        type='FRSKDSegTeacher',
        in_indices=(0, 3),
        neck=dict(type='BiFPN', out_channels=256, norm_cfg=dict(type='SyncBN'))),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=50.0),
        loss_kd=dict(type='PixelKLLoss', temperature=1.0, loss_weight=1.0)))
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
