# Blur-robust S-KD (Cho et al., IEEE Access 2022) on a dense single-stage detector (RetinaNet):
# every training image is motion-blurred on the device (the student's view), its sharp view goes
# through the same detector (BlurSKDTeacher's defaults: shared head, no deblurring on the sharp
# pass, detection loss weight 1), the deblurring subnet after the FPN learns from the sharp FPN
# levels (hint weight 0.5). The soft labels of the authors' follow-up (loss_kd=dict(
# type='SigmoidKDLoss', loss_weight=0.3), normalised by the teacher's `kd_avg_factor`) stay
# available and off: they cost 5.6 sharp mAP / 3.8 mPC on hard synthetic VOC (3 seeds,
# configs/blur_skd/README.md). A leaf wraps its student with
#   _base_ = [<student config>, './_base_/blur_skd_retinanet.py']
#   model = dict(_base_.blur_skd, _delete_=True,
#                data_preprocessor=dict(_base_.model.data_preprocessor,
#                                       batch_augments=_base_.blur_skd_batch_augments),
#                student=dict(_base_.model, neck=[
#                    _base_.model.neck,
#                    dict(_base_.blur_skd_deblur_neck, in_channels=<FPN width>)]))
# (mmengine forbids a key, e.g. `model`, in two bases, hence the separate names).
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
blur_skd = dict(
    type='SelfDistillDetector',
    teacher=dict(type='BlurSKDTeacher'),
    distill_losses=dict(loss_feat=dict(type='NormalizedL1Loss', loss_weight=0.5)))
# the blurred view for the student, the sharp one kept for the teacher pass (the leaf adds it to
# the student's preprocessor)
blur_skd_batch_augments = [dict(type='MotionBlurBatchAugment', prob=1.0, keep_sharp=True)]
# one residual block shared over the FPN levels, kept at inference
blur_skd_deblur_neck = dict(type='DeblurNeck', num_blocks=1)
