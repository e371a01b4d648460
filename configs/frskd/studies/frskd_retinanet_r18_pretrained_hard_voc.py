# FRSKD RetinaNet R18 against its baseline on the pretrained-backbone proxy (issue 14):
# configs/retinanet/studies/retinanet_r18_pretrained_hard_voc.py's data, seeds and baseline
# (retinanet_r18_fpn_cpu_pretrained_voc0712.py), and FRSKD's CPU config with its student given
# the same start and recipe: the pretrained backbone (frozen stem, norm_eval), AdamW + cosine,
# 6 epochs. The options are read from the baseline's own fragments, so the student
# and schedule cannot drift from the baseline's. Run after `python tools/misc/pretrain_backbone.py`:
#   python tools/analysis/run_study.py \
#       configs/frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py --jobs 1 --threads 1
_base_ = [
    '../../retinanet/studies/retinanet_r18_pretrained_hard_voc.py',
    '../../_base_/models/retinanet_r18_fpn_cpu_pretrained.py',
    '../../_base_/schedules/cpu_det_pretrained_6e.py'
]
description = ('FRSKD (BiFPN self-teacher, attention transfer + soft-label KD) on the CPU '
               'RetinaNet R18-FPN from the synthetic pretrained backbone (frozen stem and BN, '
               'AdamW + cosine, 6 epochs), hard synthetic VOC07+12; the same seed gives the FRSKD '
               'student the baseline\'s initial weights.')
# a wrapper config's student (model.student) set up as the pretrained baseline's model (its
# from-scratch init_cfg is None: replaced, not merged into)
pretrained_student = {
    'model.student.backbone':
    dict(_base_.model.backbone, init_cfg=dict(_delete_=True, **_base_.model.backbone.init_cfg)),
    'train_cfg':
    _base_.train_cfg,
    'optim_wrapper':
    _base_.optim_wrapper,
    'param_scheduler':
    _base_.param_scheduler,
}
variants = dict(
    _delete_=True,  # config paths are relative to the study file
    retinanet_pretrained=dict(config='../../retinanet/retinanet_r18_fpn_cpu_pretrained_voc0712.py'),
    frskd=dict(config='../frskd_retinanet_r18_fpn_cpu_voc0712.py', cfg_options=pretrained_student),
    # the teacher head fed the BiFPN outputs before their ReLU (not the authors' form): on the
    # from-scratch protocol it recovered the authors' form's loss (configs/frskd/README.md)
    frskd_pre_activation=dict(
        config='../frskd_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options={
            **pretrained_student, 'model.teacher.head_input': 'pre_activation'
        }))
