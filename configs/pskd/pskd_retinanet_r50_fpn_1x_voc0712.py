# PS-KD (Kim et al., ICCV 2021) on RetinaNet R50-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images.
# The student is exactly configs/retinanet/retinanet_r50_fpn_1x_voc0712.py's model; the snapshot
# of the previous epoch and the soft-target loss exist only in training:
# tools/model_converters/export_student.py writes the plain RetinaNet. Defaults and the dense
# adaptation: configs/pskd/README.md.
_base_ = ['../retinanet/retinanet_r50_fpn_1x_voc0712.py', './_base_/pskd_retinanet.py']
model = dict(_base_.pskd, _delete_=True, student=_base_.model)
# mmdet's recipe repeats the data 3x per epoch (4 epochs = 12 passes): refresh after every pass
# over the 16551 images, 1035 iterations of 16, as the authors' per-epoch refresh (12 stages)
custom_hooks = [dict(type='PSKDHook', interval=1035)]
