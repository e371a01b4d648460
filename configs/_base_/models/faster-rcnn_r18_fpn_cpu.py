# Faster R-CNN R18-FPN sized for a 2-core CPU, the two-stage counterpart of retinanet_r18_fpn_cpu.py
# (64-channel FPN, RPN and RoI features, 256-d box-head FCs). No pretrained weights can be fetched
# here, so it trains from scratch: BN trains, nothing frozen.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256)))
