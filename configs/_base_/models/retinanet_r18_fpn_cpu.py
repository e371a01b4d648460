# RetinaNet R18-FPN sized for a 2-core CPU (64-channel FPN and head, 2 head convs). No
# pretrained weights can be fetched here, so it trains from scratch: BN trains, nothing frozen.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2))
