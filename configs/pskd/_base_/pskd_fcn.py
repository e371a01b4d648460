# PS-KD (Kim et al., ICCV 2021) teacher part, loss and schedule for an encoder-decoder student
# with a softmax cross-entropy decode head (FCN, PSPNet, DeepLabV3, ...). A leaf config lists
# [student config, this file] as _base_ and sets
#   model = dict(_base_.pskd, _delete_=True, student=_base_.model)
# and, for an iteration-based schedule, the refresh interval if one pass over the training data
# is not the wanted "epoch" (custom_hooks = [dict(type='PSKDHook', interval=N)]).
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
pskd = dict(
    type='SelfDistillSegmentor',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    # the authors' alpha_T (lgcnsai/PS-KD-Pytorch main.py:69)
    teacher=dict(type='PSKDSegTeacher', alpha_T=0.8),
    # replaces the student's decode.loss_ce: the authors' soft-target cross-entropy
    # (loss/pskd_loss.py), normalised as the student's CrossEntropyLoss (weight 1.0); the
    # auxiliary head keeps its hard-label loss
    distill_losses=dict(loss_ce=dict(type='SoftTargetCrossEntropyLoss', loss_weight=1.0)))
# iteration-based: alpha_t = alpha_T * (iter // I + 1) / ceil(max_iters / I), snapshot
# refreshed every I iterations, I = one pass over the training data (len(train_dataloader))
custom_hooks = [dict(type='PSKDHook')]
