# FCN R18-D8 sized for a 2-core CPU. No pretrained weights can be fetched here, so it trains
# from scratch with plain BN (mmseg's SyncBN needs a distributed GPU run).
_base_ = 'mmseg::_base_/models/fcn_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=512, channels=128, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=64, norm_cfg=norm_cfg))
