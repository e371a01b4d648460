# FRSKD on the CPU-sized paper segmentation model
# (configs/efficientdet/effdet-seg_d0_cpu_voc12aug.py): the teacher and losses of
# frskd_effdet-seg_d0_voc12aug.py. Tests, CPU benchmarks.
_base_ = '../efficientdet/effdet-seg_d0_cpu_voc12aug.py'
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=dict(
        type='FRSKDSegTeacher',
        # pre-activation outputs: the teacher ReLUs them for its classifier (head_input
        # 'activated') and AttentionTransferLoss ReLUs both sides, so each sees the authors'
        # activated maps
        neck=dict(
            type='BiFPNSeg',
            out_channels=_base_.width,
            num_layers=2,
            last_top_down_only=True,
            return_pre_activation=True)),
    distill_losses=dict(
        loss_feat=dict(type='AttentionTransferLoss', loss_weight=50.0),
        loss_kd=dict(type='PixelKLLoss', temperature=1.0, loss_weight=1.0)))
custom_hooks = [dict(type='DistillWarmupHook', begin=2 / 3, end=1.0)]
