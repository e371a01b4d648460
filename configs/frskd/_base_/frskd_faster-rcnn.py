# FRSKD (Ji et al., CVPR 2021) on a two-stage detector: a BiFPN over the student's FPN levels with
# its own RPN and RoI head (FRSKDTwoStageTeacher, this project's adaptation: the authors publish
# classification and segmentation only), attention transfer on the levels and the authors'
# classification KD on the RoI logits of the RoIs the student was trained on: temperature 4
# (MingiJi/FRSKD classification/main.py:38), weights alpha=2 (KD) and beta=100 (attention) of
# their README's commands; the distillation warm-up of the project's FRSKD detection configs.
# A leaf wraps its student with these:
#   _base_ = [<student config>, '../frskd/_base_/frskd_faster-rcnn.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model)
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
frskd = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    teacher=dict(type='FRSKDTwoStageTeacher'),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=100.0),
        loss_kd=dict(type='SoftmaxKDLoss', temperature=4.0, loss_weight=2.0)))
# distillation off while the teacher learns (first 2/3), then a sigmoid ramp (the authors'
# segmentation schedule), as on RetinaNet
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
