# FRSKD EfficientDet-D0 against its baseline on the 12-epoch pretrained-backbone proxy (issue 14):
# the data and seeds of the RetinaNet R18 proxy studies
# (configs/retinanet/studies/retinanet_r18_pretrained_hard_voc.py), the CPU EfficientDet-D0 from
# the synthetic pretrained EfficientNet-B0
# (configs/efficientdet/efficientdet_d0_cpu_pretrained_voc0712.py) trained 12 epochs as in
# frskd_retinanet_r18_pretrained_12e_hard_voc.py, and FRSKD's CPU EfficientDet config with its
# student given the same start and recipe. Run after
# `python tools/misc/pretrain_backbone.py --arch efficientnet-b0`:
#   python tools/analysis/run_study.py \
#       configs/frskd/studies/frskd_efficientdet_d0_pretrained_12e_hard_voc.py --jobs 1 --threads 1
_base_ = [
    '../../retinanet/studies/retinanet_r18_pretrained_hard_voc.py',
    '../../efficientdet/efficientdet_d0_cpu_pretrained_voc0712.py'
]
description = ('FRSKD (BiFPN self-teacher, attention transfer + soft-label KD) on the CPU '
               'EfficientDet-D0 from the synthetic pretrained backbone (frozen stem and BN, '
               'AdamW + cosine, 12 epochs), hard synthetic VOC07+12; the same seed gives the FRSKD '
               'student the baseline\'s initial weights.')
baseline = 'efficientdet_pretrained_12e'
proxy_epochs = 12
# a wrapper config's student (model.student) set up as the baseline's model and schedule, read
# from the baseline's config so that they cannot drift apart; the schedule written as whole
# fields: a wrapper's student options replace train_cfg and param_scheduler whole
pretrained_student = {
    'model.student.backbone': _base_.model.backbone,
    'train_cfg': dict(_base_.train_cfg, max_epochs=proxy_epochs, val_interval=proxy_epochs),
    'optim_wrapper': _base_.optim_wrapper,
    'param_scheduler':
    [_base_.param_scheduler[0],
     dict(_base_.param_scheduler[1], end=proxy_epochs)],
}
variants = dict(
    _delete_=True,  # config paths are relative to the study file
    efficientdet_pretrained_12e=dict(
        config='../../efficientdet/efficientdet_d0_cpu_pretrained_voc0712.py',
        cfg_options={
            'train_cfg.max_epochs': proxy_epochs,
            'train_cfg.val_interval': proxy_epochs,
            'param_scheduler.1.end': proxy_epochs
        }),
    frskd=dict(config='../frskd_efficientdet_d0_cpu_voc0712.py', cfg_options=pretrained_student))
