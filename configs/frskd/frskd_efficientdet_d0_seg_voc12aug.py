# FRSKD (Ji et al., CVPR 2021) on EfficientDet-D0 segmentation, VOC2012 aug 512x512 crops, 20k
# iterations, on the automl-style EfficientDet segmentation head (the authors' VOC result, 79.07 ->
# 80.55 mIoU, is on their own model: frskd_effdet-seg_d0_voc12aug.py). The student is exactly
# configs/efficientdet/efficientdet_d0_seg_voc12aug.py's model; as in the paper's model the
# teacher's BiFPN (width 64) takes the student's own BiFPN outputs P3..P7 and its head is a copy of
# the student's decode head. Authors' segmentation recipe: alpha=1, beta=50, T=1, distillation off
# for the first 2/3 of the run, then a sigmoid ramp.
_base_ = ['../efficientdet/efficientdet_d0_seg_voc12aug.py', './_base_/frskd_efficientdet-seg.py']
model = dict(
    _base_.frskd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(_base_.frskd.teacher, neck=dict(type='BiFPN', out_channels=64)))
custom_hooks = _base_.frskd_hooks
