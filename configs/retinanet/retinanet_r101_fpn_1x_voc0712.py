# RetinaNet R101-FPN, VOC07+12 -> VOC2007 test, 8 GPUs x 2 images (mmdet's recipe): the FGFI
# teacher of configs/fgfi/fgfi_retinanet_r101-r50_fpn_1x_voc0712.py (train it first).
_base_ = './retinanet_r50_fpn_1x_voc0712.py'
model = dict(
    backbone=dict(
        depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
