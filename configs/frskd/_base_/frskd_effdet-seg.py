# FRSKD with the authors' segmentation teacher (their BiFPN-seg variant: two layers, the last
# top-down only) on their segmentation model (configs/_base_/models/effdet-seg_d0.py). A leaf
# wraps its student with
#   _base_ = [<student config>, './_base_/frskd_effdet-seg.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model, teacher=dict(
#       _base_.frskd.teacher, neck=dict(_base_.frskd.teacher.neck, out_channels=_base_.width)))
#   custom_hooks = _base_.frskd_hooks
_base_ = './frskd_efficientdet-seg.py'
frskd = dict(
    teacher=dict(
        # pre-activation outputs: the teacher ReLUs them for its classifier (head_input
        # 'activated') and AttentionTransferLoss ReLUs both sides, so each sees the authors'
        # activated maps
        neck=dict(
            type='BiFPNSeg', num_layers=2, last_top_down_only=True, return_pre_activation=True)))
