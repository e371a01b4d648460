# Blur-robust S-KD against motion-blur augmentation at equal compute on the 12-epoch
# pretrained-backbone proxy (issue 14): the data, seeds, sharp baseline runs and student set-up
# of configs/frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py. S-KD trains two
# passes per image (the blurred student view, the sharp teacher view), so its comparator sees as
# many images with twice the epochs (24; cosine stretched to match); the 12-epoch augmentation
# run takes as many optimiser steps as S-KD. The metric is the sharp test set's mAP;
# blur_skd_retinanet_r18_pretrained_12e_blurred_voc.py tests the same runs on the blurred one.
#   python tools/analysis/run_study.py \
#       configs/blur_skd/studies/blur_skd_retinanet_r18_pretrained_12e_hard_voc.py \
#       --jobs 2 --threads 1
_base_ = '../../frskd/studies/frskd_retinanet_r18_pretrained_12e_hard_voc.py'
description = ('Blur-robust S-KD (hint only, one DeblurNeck block) vs motion-blur augmentation '
               'with 24 epochs (the images S-KD\'s two views see in 12) and with 12 (its steps), '
               'and the sharp-trained RetinaNet R18, all from the synthetic pretrained backbone '
               '(frozen stem and BN, AdamW + cosine), hard synthetic VOC07+12.')


def _augmented(epochs):
    """The blur-augmented baseline (a plain RetinaNet config at top level) given the pretrained
    student's backbone and the proxy's schedule stretched over ``epochs``."""
    return {
        'model.backbone': _base_.pretrained_student['model.student.backbone'],
        'train_cfg': dict(_base_.train_cfg, max_epochs=epochs, val_interval=epochs),
        'optim_wrapper': _base_.optim_wrapper,
        'param_scheduler': [_base_.param_scheduler[0],
                            dict(_base_.param_scheduler[1], end=epochs)],
    }


baseline = 'blur_aug_24e'
variants = dict(
    _delete_=True,
    blur_aug_24e=dict(
        config='../retinanet_r18_fpn_cpu_blur-aug_voc0712.py', cfg_options=_augmented(24)),
    skd=dict(
        config='../blur_skd_retinanet_r18_fpn_cpu_voc0712.py',
        cfg_options=_base_.pretrained_student_12e),
    blur_aug_12e=dict(
        config='../retinanet_r18_fpn_cpu_blur-aug_voc0712.py', cfg_options=_augmented(12)),
    retinanet_pretrained_12e=_base_.variants.retinanet_pretrained_12e)
