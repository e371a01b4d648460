# Faster R-CNN R101-FPN, COCO 2017, 1x schedule, 8 GPUs x 2 images (mmdet's recipe): the FGFI
# teacher of configs/fgfi/fgfi_faster-rcnn_r101-r50_fpn_1x_coco.py (train it first, or use
# mmdet's released faster-rcnn_r101_fpn_1x_coco checkpoint).
_base_ = './faster-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
