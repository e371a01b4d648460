# PS-KD (Kim et al., ICCV 2021) on FCN R50-D8, Cityscapes 512x1024 crops, 40k iterations, 4 GPUs x
# 2 images. The student is exactly configs/fcn/fcn_r50-d8_512x1024_cityscapes.py's model. The
# snapshot is refreshed after every pass over the 2975 training images (372 iterations of 8
# images: ~108 "epochs"), alpha_t growing per pass. Defaults: configs/pskd/README.md.
_base_ = ['../fcn/fcn_r50-d8_512x1024_cityscapes.py', './_base_/pskd_fcn.py']
model = dict(
    _delete_=True,
    type='SelfDistillSegmentor',
    data_preprocessor=_base_.model.data_preprocessor,
    student=_base_.model,
    teacher=_base_.pskd_teacher,
    distill_losses=_base_.pskd_distill_losses)
