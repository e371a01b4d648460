# mmrazor 1.0.0's CWD recipe (its configs/distill/mmdet/cwd/
# cwd_fpn_retina_r101_retina_r50_1x_coco.py: FpnTeacherDistill, channel-wise divergence with
# tau 1 and weight 10 on the five FPN levels, teacher backbone + neck only, under no_grad) for
# the RetinaNet R50-FPN VOC student of configs/retinanet/retinanet_r50_fpn_1x_voc0712.py with a
# RetinaNet R101-FPN teacher (configs/retinanet/retinanet_r101_fpn_1x_voc0712.py's model). A
# cost-benchmark config, not a training recipe: no teacher checkpoint. mmdet scope, so that
# skd_det's analysis tools load it; mmrazor's registry names carry the 'mmrazor.' prefix. Needs
# mmrazor importable and the shim of tools/analysis/benchmark_kd_cost.py (mmrazor 1.0.0 does
# not import on torch >= 2.x).
_base_ = '../../../configs/retinanet/retinanet_r50_fpn_1x_voc0712.py'
_levels = range(5)
model = dict(
    _delete_=True,
    type='mmrazor.FpnTeacherDistill',
    architecture=_base_.model,
    teacher=dict(_base_.model, backbone=dict(_base_.model.backbone, depth=101, init_cfg=None)),
    teacher_ckpt=None,
    distiller=dict(
        type='mmrazor.ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='mmrazor.ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='mmrazor.ModuleOutputs', source='neck')),
        distill_losses={
            f'loss_cwd_fpn{i}': dict(type='mmrazor.ChannelWiseDivergence', tau=1, loss_weight=10)
            for i in _levels
        },
        loss_forward_mappings={
            f'loss_cwd_fpn{i}':
            dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=i),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=i))
            for i in _levels
        }))
find_unused_parameters = True
