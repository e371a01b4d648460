# FRSKD (Ji et al., CVPR 2021) on the paper's segmentation model at D1 (81.95 -> 83.88 mIoU in the
# paper): the student is exactly configs/efficientdet/effdet-seg_d1_voc12aug.py's model; the
# teacher is two BiFPN-seg layers (the second top-down only) over the student's BiFPN-seg outputs
# P2..P7 and a copy of its classifier (authors' segmentation/utils/efficientdet.py:47, 76-80).
# Authors' loss (main.py:137-142, README.md:4: --alpha 1 --beta 50): CE(student) + CE(teacher)
# + 50 * attention transfer over the six levels + 1 * pixel KL at T=1; distillation off for 40 of
# the 60 epochs, then a sigmoid ramp (main.py:122-128).
_base_ = ['../efficientdet/effdet-seg_d1_voc12aug.py', './_base_/frskd_effdet-seg.py']
model = dict(
    _base_.frskd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.frskd.teacher, neck=dict(_base_.frskd.teacher.neck, out_channels=_base_.width)))
custom_hooks = _base_.frskd_hooks
