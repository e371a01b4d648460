# BYOT (Zhang et al., ICCV 2019) on FCN R50-D8, Cityscapes 512x1024 crops, 40k iterations. The
# student is exactly configs/fcn/fcn_r50-d8_512x1024_cityscapes.py's model; the exits and their
# losses exist only in training (configs/byot/README.md): tools/model_converters/export_student.py
# writes the plain student, or with --exit K the early-exit model of exit K.
_base_ = ['../fcn/fcn_r50-d8_512x1024_cityscapes.py', './_base_/byot_fcn.py']
model = dict(_base_.byot, _delete_=True, student=_base_.model)
