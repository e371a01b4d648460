# FRSKD (Ji et al., CVPR 2021) on a segmentor whose config already imports skd_det (EfficientDet
# segmentation): the wrapper and the schedule hook only. The self-teacher is a BiFPN over the
# student's levels + a copy of its decode head (FRSKDSegTeacher); the authors' segmentation
# recipe (MingiJi/FRSKD segmentation/README.md:4 `--alpha 1 --beta 50`, main.py:48 T=1,
# main.py:123-131 the sigmoid ramp): pixel KL weight 1, attention transfer 50, distillation off
# for the first 2/3 of the run, then a sigmoid ramp. A leaf wraps
# its student with
#   _base_ = [<student config>, './_base_/frskd_efficientdet-seg.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model, teacher=dict(
#       _base_.frskd.teacher, neck=dict(type='BiFPN', out_channels=<student width>)))
#   custom_hooks = _base_.frskd_hooks
frskd = dict(
    type='SelfDistillSegmentor',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    teacher=dict(type='FRSKDSegTeacher'),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=50.0),
        loss_kd=dict(type='PixelKLLoss', temperature=1.0, loss_weight=1.0)))
frskd_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
