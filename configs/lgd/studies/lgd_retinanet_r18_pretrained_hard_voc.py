# LGD RetinaNet R18 against its baseline on the pretrained-backbone proxy (issue 14): as
# configs/frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py (same data, seeds, baseline
# runs and student set-up), LGD's CPU config in place of FRSKD's. The authors' first-phase
# backbone freeze (LGDPhaseHook freeze_backbone=1/9) is meant for such a pretrained backbone.
#   python tools/analysis/run_study.py \
#       configs/lgd/studies/lgd_retinanet_r18_pretrained_hard_voc.py --jobs 1 --threads 1
_base_ = '../../frskd/studies/frskd_retinanet_r18_pretrained_hard_voc.py'
description = ('LGD (label-guided self-distillation, the LGDPhaseHook phases as fractions of '
               'the run) on the CPU RetinaNet R18-FPN from the synthetic pretrained backbone '
               '(frozen stem and BN, AdamW + cosine, 6 epochs), hard synthetic VOC07+12; the same '
               'seed gives the LGD student the baseline\'s initial weights.')
variants = dict(
    _delete_=True,
    retinanet_pretrained=dict(config='../../retinanet/retinanet_r18_fpn_cpu_pretrained_voc0712.py'),
    lgd=dict(
        config='../lgd_retinanet_r18_fpn_cpu_voc0712.py', cfg_options=_base_.pretrained_student))
