# Comparator of blur-robust S-KD: the CPU RetinaNet R18-FPN baseline trained with motion-blur
# augmentation only (half the training images blurred on the device, same kernels and
# severities as S-KD's student view); no distillation, no deblurring subnet.
_base_ = ['../retinanet/retinanet_r18_fpn_cpu_voc0712.py', './_base_/blur_aug.py']
model = dict(data_preprocessor=dict(batch_augments=_base_.blur_aug_batch_augments))
