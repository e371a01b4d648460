# Comparator of blur-robust S-KD: the CPU RetinaNet R18-FPN baseline trained with motion-blur
# augmentation only (half the training images blurred on the device, same kernels and
# severities as S-KD's student view); no distillation, no deblurring subnet.
_base_ = '../retinanet/retinanet_r18_fpn_cpu_voc0712.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='MotionBlurBatchAugment', prob=0.5, keep_sharp=False)]))
