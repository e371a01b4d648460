# FRSKD (Ji et al., CVPR 2021) on the paper's segmentation model at D1 (81.95 -> 83.88 mIoU in the
# paper): the student is exactly configs/efficientdet/effdet-seg_d1_voc12aug.py's model; the
# teacher is two BiFPN-seg layers (the second top-down only) over the student's BiFPN-seg outputs
# P2..P7 and a copy of its classifier (authors' segmentation/utils/efficientdet.py:47, 76-80).
# Authors' loss (main.py:137-142, README.md:4: --alpha 1 --beta 50): CE(student) + CE(teacher)
# + 50 * attention transfer over the six levels + 1 * pixel KL at T=1; distillation off for 40 of
# the 60 epochs, then a sigmoid ramp (main.py:122-128).
_base_ = '../efficientdet/effdet-seg_d1_voc12aug.py'
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    # the student's preprocessor (the Runner would fill in a top-level `data_preprocessor`)
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
