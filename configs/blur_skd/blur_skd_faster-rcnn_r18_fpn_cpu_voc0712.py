# Blur-robust S-KD on the CPU Faster R-CNN R18-FPN baseline (synthetic VOC; tests, CPU
# benchmarks). The student is configs/faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py's model plus
# the deblurring subnet after its 64-channel FPN; the sharp view goes through the same detector.
_base_ = ['../faster_rcnn/faster-rcnn_r18_fpn_cpu_voc0712.py', './_base_/blur_skd_faster-rcnn.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    # the student's preprocessor + the blurred view for the student, the sharp one kept
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=64)]))
