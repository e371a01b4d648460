# BYOT (Zhang et al., ICCV 2019) on a dense single-stage detector: shallow exits (a pyramid of the
# student's neck class over the backbone stages up to the exit + a copy of the student's head),
# distilled from the student's own head, the deepest classifier. The authors' public defaults
# (luanyunteng/pytorch-be-your-own-teacher train.py:63-69): alpha 0.1, T 3, lambda (their
# "beta") 1e-6; alpha appears twice below (the teacher's 1 - alpha on the task losses, the KD
# weight): change both together. A leaf wraps its student with these:
#   _base_ = [<student config>, '../byot/_base_/byot_retinanet.py']
#   model = dict(_base_.byot, _delete_=True, student=_base_.model)
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
byot = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    # exits on the backbone stages the FPN reads but the deepest: C3 and C4 for RetinaNet
    teacher=dict(type='BYOTDetTeacher', alpha=0.1),
    distill_losses=dict(
        loss_kd=dict(type='SigmoidKDLoss', temperature=3.0, loss_weight=0.1),
        loss_feat=dict(type='ActiveMSELoss', reduction='sum', loss_weight=1e-6)))
