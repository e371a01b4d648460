# The teachers of the KD controls (issue 27) on the real-ImageNet proxy
# (configs/retinanet/studies/retinanet_mobilenetv2_imagenet_12e_hard_voc.py: same data, model and
# start): a strong teacher, the same RetinaNet MobileNetV2-FPN trained 36 epochs (the cosine decay
# stretched to match), and a peer, 12 epochs as the students, on a seed no student uses.
#   python tools/analysis/run_study.py \
#       configs/kd/studies/kd_teachers_retinanet_mobilenetv2_imagenet_hard_voc.py --jobs 1
# kd_controls_retinanet_mobilenetv2_imagenet_12e_hard_voc.py reads their last checkpoints.
_base_ = '../../retinanet/studies/retinanet_mobilenetv2_imagenet_12e_hard_voc.py'
description = ('The KD controls\' teachers: RetinaNet MobileNetV2-FPN from ImageNet weights, 36 '
               'epochs (strong) and 12 epochs (peer), hard synthetic VOC07+12, seed 100.')
seeds = [100]
baseline = 'peer_12e'


def _epochs(n):
    return {'train_cfg.max_epochs': n, 'train_cfg.val_interval': n, 'param_scheduler.1.end': n}


variants = dict(
    _delete_=True,
    strong_36e=dict(
        config='../../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', cfg_options=_epochs(36)),
    peer_12e=dict(
        config='../../retinanet/retinanet_mobilenetv2_fpn_cpu_voc0712.py', cfg_options=_epochs(12)))
