# LGD RetinaNet R18 against its baseline on the 12-epoch pretrained-backbone proxy (issue 14): as
# configs/frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py (same data, seeds, baseline
# runs and student set-up), LGD's CPU config in place of FRSKD's. LGDPhaseHook's phases are
# fractions of the run, so they stretch with the schedule.
#   python tools/analysis/run_study.py \
#       configs/lgd/studies/lgd_retinanet_r18_pretrained_12e_hard_voc.py --jobs 1 --threads 1
_base_ = '../../frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py'
description = ('LGD (label-guided self-distillation, the LGDPhaseHook phases as fractions of '
               'the run) on the CPU RetinaNet R18-FPN from the synthetic pretrained backbone '
               '(frozen stem and BN, AdamW + cosine, 12 epochs), hard synthetic VOC07+12; the same '
               'seed gives the LGD student the baseline\'s initial weights.')
variants = dict(
    _delete_=True,
    retinanet_pretrained_12e=_base_.variants.retinanet_pretrained_12e,
    lgd=dict(
        config='../lgd_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options=_base_.pretrained_student_12e))
