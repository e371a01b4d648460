# FRSKD (Ji et al., CVPR 2021) on FCN R50-D8, VOC2012 aug 512x512 crops, 20k iterations. The
# student is exactly configs/fcn/fcn_r50-d8_512x512_voc12aug.py's model. The D8 backbone has
# strides 4, 8, 8, 8 and a BiFPN needs halving resolutions, so the teacher takes C1 (stride 4)
# and C4 (stride 8, the decode head's input); its head is a copy of the FCN head. Authors'
# segmentation recipe: alpha=1, beta=50, T=1, distillation off for the first 2/3 of the run,
# then a sigmoid ramp.
_base_ = ['../fcn/fcn_r50-d8_512x512_voc12aug.py', './_base_/frskd_fcn.py']
model = dict(_base_.frskd, _delete_=True, student=_base_.model)
