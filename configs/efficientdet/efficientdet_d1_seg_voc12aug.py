# EfficientDet-D1 for semantic segmentation (FRSKD's VOC results): EfficientNet-B1, BiFPN 88 x 4
# layers, segmentation head of 88 channels; otherwise efficientdet_d0_seg_voc12aug.py.
_base_ = './efficientdet_d0_seg_voc12aug.py'
model = dict(
    backbone=dict(arch='b1'),
    neck=dict(out_channels=88, num_repeats=4),
    decode_head=dict(in_channels=[88, 88, 88, 88, 88], channels=88))
