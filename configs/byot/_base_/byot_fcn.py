# BYOT (Zhang et al., ICCV 2019) on an encoder-decoder segmentor: an FCNHead exit on every backbone
# stage before the decode head's (0, 1, 2 for FCN's 4-stage ResNet, the authors' exits after
# layer1-3), distilled pixel-wise from the student's decode head; the authors' branch bottleneck
# maps each exit's stage to the decode head's input for the feature loss. The authors' public
# defaults (luanyunteng/pytorch-be-your-own-teacher train.py:63-69): alpha 0.1, T 3, lambda 1e-6;
# alpha appears twice below (the teacher's 1 - alpha on the task losses, the KD weight): change
# both together. The pixel KD averages over labelled pixels (avg_non_ignore), as the authors'
# batch mean runs over labelled images. A leaf wraps its student with these:
#   _base_ = [<student config>, '../byot/_base_/byot_fcn.py']
#   model = dict(_base_.byot, _delete_=True, student=_base_.model)
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
byot = dict(
    type='SelfDistillSegmentor',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    teacher=dict(type='BYOTSegTeacher', alpha=0.1),
    distill_losses=dict(
        loss_kd=dict(type='PixelKLLoss', temperature=3.0, loss_weight=0.1, avg_non_ignore=True),
        loss_feat=dict(type='ActiveMSELoss', reduction='sum', loss_weight=1e-6)))
