# Blur-robust S-KD (Cho et al., IEEE Access 2022) on a two-stage detector: blur_skd_retinanet.py's
# views, hint and deblurring subnet, the sharp view through the same backbone, FPN, RPN and RoI
# head. A leaf wraps its student as there.
_base_ = './blur_skd_retinanet.py'
# kd_avg_factor='mean': a two-stage loss_kd averages over the sampled RoIs; the RoI soft labels
# (loss_kd=dict(type='SoftmaxKDLoss', ...)) stay available, off as on RetinaNet
blur_skd = dict(teacher=dict(kd_avg_factor='mean'))
