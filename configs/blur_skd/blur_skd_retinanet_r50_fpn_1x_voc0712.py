# Blur-robust S-KD (Cho et al., "Blur-Robust Object Detection Using Feature-Level Deblurring via
# Self-Guided Knowledge Distillation", IEEE Access 2022) on RetinaNet R50-FPN, VOC07+12 -> VOC2007
# test, 8 GPUs x 2 images. The student is configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's
# model plus the deblurring subnet after its FPN (1 residual block shared over P3..P7, kept at
# inference); every training image is motion-blurred on the device (the student's view) and its
# sharp view feeds the teacher pass, which is the same network. Defaults: README.md beside.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/blur_skd_retinanet.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    # the student's preprocessor + the blurred view for the student, the sharp one kept
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=256)]))
