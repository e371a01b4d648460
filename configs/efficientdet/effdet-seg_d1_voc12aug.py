# FRSKD's segmentation baseline at D1 (the paper's 81.95 mIoU): EfficientNet-B1 tapped after blocks
# 2, 5, 8, 22 (same widths as B0), width 88; otherwise effdet-seg_d0_voc12aug.py.
_base_ = './effdet-seg_d0_voc12aug.py'
width = 88
model = dict(
    backbone=dict(arch='b1', out_blocks=(2, 5, 8, 22)),
    neck=dict(necks=[
        dict(type='EffDetSegFPN', in_channels=[24, 40, 80, 320], out_channels=width),
        dict(type='BiFPNSeg', in_channels=[width] * 6, out_channels=width, num_layers=3)
    ]),
    decode_head=dict(in_channels=width))
