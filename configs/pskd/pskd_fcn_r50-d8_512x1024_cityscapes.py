# PS-KD (Kim et al., ICCV 2021) on FCN R50-D8, Cityscapes 512x1024 crops, 40k iterations, 4 GPUs x
# 2 images. The student is exactly configs/fcn/fcn_r50-d8_512x1024_cityscapes.py's model. The
# snapshot is refreshed after every pass over the 2975 training images (372 iterations of 8
# images: ~108 "epochs"), alpha_t growing per pass. Defaults: configs/pskd/README.md.
_base_ = ['../fcn/fcn_r50-d8_512x1024_cityscapes.py', './_base_/pskd_fcn.py']
model = dict(_base_.pskd, _delete_=True, student=_base_.model)
