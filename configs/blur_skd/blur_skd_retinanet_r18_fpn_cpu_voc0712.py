# Blur-robust S-KD (Cho et al., IEEE Access 2022) on the CPU RetinaNet R18-FPN baseline (synthetic
# VOC; tests, CPU benchmarks). The student is configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py's
# model plus the deblurring subnet after its FPN (kept at inference); each training image is
# blurred on the device (the student's view) and its sharp view feeds the teacher pass, which is
# the same network. Defaults: configs/blur_skd/README.md.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/blur_skd_retinanet.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    # the student's preprocessor + the blurred view for the student, the sharp one kept
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=64)]))
