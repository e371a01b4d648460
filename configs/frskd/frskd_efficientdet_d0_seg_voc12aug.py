# FRSKD (Ji et al., CVPR 2021) on EfficientDet-D0 segmentation, VOC2012 aug 512x512 crops, 20k
# iterations, on the automl-style EfficientDet segmentation head (the authors' VOC result, 79.07 ->
# 80.55 mIoU, is on their own model: frskd_effdet-seg_d0_voc12aug.py). The student is exactly
# configs/efficientdet/efficientdet_d0_seg_voc12aug.py's model; as in the paper's model the
# teacher's BiFPN (width 64) takes the student's own BiFPN outputs P3..P7 and its head is a copy of
# the student's decode head. Authors' segmentation recipe: alpha=1, beta=50, T=1, distillation off
# for the first 2/3 of the run, then a sigmoid ramp.
_base_ = '../efficientdet/efficientdet_d0_seg_voc12aug.py'
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(type='FRSKDSegTeacher', neck=dict(type='BiFPN', out_channels=64)),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=50.0),
        loss_kd=dict(type='PixelKLLoss', temperature=1.0, loss_weight=1.0)))
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
