# Can the real-ImageNet proxy show a distillation gain at all (issue 27, the positive and null
# controls)? The 12-epoch RetinaNet MobileNetV2-FPN students of
# configs/retinanet/studies/retinanet_mobilenetv2_imagenet_12e_hard_voc.py (its baseline runs are
# shared: the same config and options) distilled from a frozen teacher through FrozenTeacher /
# FGFITeacher:
#   kd_sigmoid_w100  the strong teacher, FRSKD's detection KD today (binary KL over every anchor
#                    and class, mean over anchors, weight 100)                            (a)
#   kd_qfl           the strong teacher, QualityFocalKDLoss over the positives, weight 1  (b)
#   fgfi             the strong teacher, FGFI imitation (the authors' settings)           (c)
#   peer_kd_qfl      a peer teacher (12 epochs, as the students) with (b): the null
# The teachers come from kd_teachers_retinanet_mobilenetv2_imagenet_hard_voc.py; copy their last
# checkpoints to the paths below first:
#   python tools/analysis/run_study.py \
#       configs/kd/studies/kd_teachers_retinanet_mobilenetv2_imagenet_hard_voc.py
#   mkdir -p work_dirs/teachers && cp <its strong_36e run>/train/epoch_36.pth \
#       work_dirs/teachers/retinanet_mobilenetv2_imagenet_36e_seed100.pth   (and peer_12e's)
#   python tools/analysis/run_study.py \
#       configs/kd/studies/kd_controls_retinanet_mobilenetv2_imagenet_12e_hard_voc.py --jobs 2
# Seeds 0-2 screen; the confirmation adds 3 and 4 (seeds = [0, 1, 2, 3, 4]).
_base_ = '../../retinanet/studies/retinanet_mobilenetv2_imagenet_12e_hard_voc.py'
description = (
    'Positive and null controls of distillation on the real-ImageNet proxy: the 12-epoch '
    'RetinaNet MobileNetV2-FPN student distilled from a 36-epoch teacher of the same '
    'model (sigmoid KD at weight 100, quality-focal KD, FGFI) and from a 12-epoch peer.')
seeds = [0, 1, 2]
STRONG = 'work_dirs/teachers/retinanet_mobilenetv2_imagenet_36e_seed100.pth'
PEER = 'work_dirs/teachers/retinanet_mobilenetv2_imagenet_12e_seed100.pth'
EPOCHS_12 = {'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 12, 'param_scheduler.1.end': 12}
KD = '../kd_retinanet_mobilenetv2_fpn_cpu_voc0712.py'
variants = dict(
    _delete_=True,  # config paths are relative to this file
    retinanet_mobilenetv2_12e=dict(
        config='../../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', cfg_options=EPOCHS_12),
    kd_qfl=dict(config=KD, cfg_options={
        **EPOCHS_12, 'model.teacher.checkpoint': STRONG
    }),
    fgfi=dict(
        config='../../fgfi/fgfi_retinanet_mobilenetv2_fpn_cpu_voc0712.py',
        cfg_options={
            **EPOCHS_12, 'model.teacher.checkpoint': STRONG
        }),
    peer_kd_qfl=dict(config=KD, cfg_options={
        **EPOCHS_12, 'model.teacher.checkpoint': PEER
    }),
    kd_sigmoid_w100=dict(
        config=KD,
        cfg_options={
            **EPOCHS_12, 'model.teacher.checkpoint':
            STRONG,
            'model.teacher.kd_avg_factor':
            'mean',
            'model.distill_losses.loss_kd':
            dict(_delete_=True, type='SigmoidKDLoss', temperature=1.0, loss_weight=100.0)
        }))
