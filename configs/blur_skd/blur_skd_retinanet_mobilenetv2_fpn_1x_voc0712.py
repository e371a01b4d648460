# Blur-robust S-KD on RetinaNet MobileNetV2-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images, from
# the ImageNet MobileNetV2 (`python tools/misc/imagenet_weights.py`):
# blur_skd_retinanet_r50_fpn_1x_voc0712.py with
# configs/retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py's model plus the deblurring subnet
# after its FPN (256 channels, kept at inference) as the student.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_1x_voc0712.py', './_base_/blur_skd_retinanet.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=256)]))
