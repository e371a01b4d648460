# Blur-robust S-KD (Cho et al., IEEE Access 2022) on a two-stage detector: every training image is
# motion-blurred on the device (the student's view), the sharp view goes through the same
# detector (backbone, FPN, RPN, RoI head), the deblurring subnet after the FPN learns from the
# sharp FPN levels (hint weight 0.5, as configs/blur_skd/skd_retinanet_*). A leaf wraps its
# student with these:
#   _base_ = [<student config>, '../blur_skd/_base_/blur_skd_faster-rcnn.py']
#   model = dict(_delete_=True, type='SelfDistillDetector',
#                data_preprocessor=dict(_base_.model.data_preprocessor,
#                                       batch_augments=_base_.blur_skd_batch_augments),
#                student=dict(_base_.model, neck=[
#                    _base_.model.neck,
#                    dict(_base_.blur_skd_deblur_neck, in_channels=<FPN width>)]),
#                teacher=_base_.blur_skd_teacher, distill_losses=_base_.blur_skd_distill_losses)
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
# the blurred view for the student, the sharp one kept for the teacher pass
blur_skd_batch_augments = [dict(type='MotionBlurBatchAugment', prob=1.0, keep_sharp=True)]
# one residual block shared over the FPN levels, kept at inference
blur_skd_deblur_neck = dict(type='DeblurNeck', num_blocks=1)
# kd_avg_factor='mean': a two-stage loss_kd averages over the sampled RoIs
blur_skd_teacher = dict(
    type='BlurSKDTeacher',
    shared_head=True,
    teacher_deblur=False,
    kd_avg_factor='mean',
    loss_weight=1.0)
# the RoI soft labels (loss_kd=dict(type='SoftmaxKDLoss', ...)) stay available, off as on RetinaNet
blur_skd_distill_losses = dict(loss_feat=dict(type='NormalizedL1Loss', loss_weight=0.5))
