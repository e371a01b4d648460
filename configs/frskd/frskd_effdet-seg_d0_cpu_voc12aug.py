# FRSKD on the CPU-sized paper segmentation model
# (configs/efficientdet/effdet-seg_d0_cpu_voc12aug.py): the teacher and losses of
# frskd_effdet-seg_d0_voc12aug.py. Tests, CPU benchmarks.
_base_ = ['../efficientdet/effdet-seg_d0_cpu_voc12aug.py', './_base_/frskd_effdet-seg.py']
model = dict(
    _base_.frskd,
    _delete_=True,
    student=_base_.model,
    teacher=dict(
        _base_.frskd.teacher, neck=dict(_base_.frskd.teacher.neck, out_channels=_base_.width)))
custom_hooks = _base_.frskd_hooks
