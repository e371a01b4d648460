# Blur-robust S-KD (Cho et al., IEEE Access 2022) on Faster R-CNN R50-FPN, COCO 2017, 1x,
# 8 GPUs x 2 images. The student is configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py's model
# plus the deblurring subnet after its FPN (kept at inference); the sharp view of each training
# image goes through the same detector (_base_/blur_skd_faster-rcnn.py).
_base_ = ['../faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', './_base_/blur_skd_faster-rcnn.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    # the student's preprocessor + the blurred view for the student, the sharp one kept
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=256)]))
