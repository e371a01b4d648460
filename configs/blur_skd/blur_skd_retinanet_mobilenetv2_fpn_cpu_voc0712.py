# Blur-robust S-KD on the CPU RetinaNet MobileNetV2-FPN (synthetic VOC; ImageNet MobileNetV2 from
# `python tools/misc/imagenet_weights.py`). The student is
# configs/retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py's model plus the deblurring subnet
# after its FPN (64 channels; kept at inference). Defaults: configs/blur_skd/README.md.
_base_ = ['../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', './_base_/blur_skd_retinanet.py']
model = dict(
    _base_.blur_skd,
    _delete_=True,
    data_preprocessor=dict(
        _base_.model.data_preprocessor, batch_augments=_base_.blur_skd_batch_augments),
    student=dict(
        _base_.model, neck=[_base_.model.neck,
                            dict(_base_.blur_skd_deblur_neck, in_channels=64)]))
