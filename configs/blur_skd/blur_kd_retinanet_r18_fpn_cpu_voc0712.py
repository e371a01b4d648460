# Comparator of blur-robust S-KD: teacher-based KD from a frozen sharp-trained model (the paper's
# "KD" row) on the CPU RetinaNet R18-FPN. Student, data and hint exactly as
# blur_skd_retinanet_r18_fpn_cpu_voc0712.py (blurred view, deblurring subnet), plus soft labels;
# the teacher is a configs/retinanet/retinanet_r18_fpn_cpu_voc0712.py model trained on sharp
# images, seeing the sharp view. Set its weights with
#   --cfg-options model.teacher.checkpoint=work_dirs/retinanet_r18_fpn_cpu_voc0712/epoch_12.pth
# (without one it keeps its random initialisation and a warning is logged).
_base_ = './blur_skd_retinanet_r18_fpn_cpu_voc0712.py'
model = dict(
    teacher=dict(
        _delete_=True,
        type='FrozenTeacher',
        config=dict(_base_.model.student, neck=_base_.model.student.neck[0]),
        checkpoint=None,
        view='sharp',
        kd_avg_factor='num_pos'),
    # the soft labels S-KD leaves off (README.md): teacher KD uses them, as measured
    distill_losses=dict(loss_kd=dict(type='SigmoidKDLoss', temperature=1.0, loss_weight=0.3)))
