# The comparator of blur-robust S-KD: the plain detector trained with motion-blur augmentation only
# (half the training images blurred on the device, the kernels and severities of S-KD's student
# view); no distillation, no deblurring subnet. A leaf adds it to its student:
#   _base_ = [<student config>, './_base_/blur_aug.py']
#   model = dict(data_preprocessor=dict(batch_augments=_base_.blur_aug_batch_augments))
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
blur_aug_batch_augments = [dict(type='MotionBlurBatchAugment', prob=0.5, keep_sharp=False)]
