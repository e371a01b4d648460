# FRSKD FCN R18-D8 against its baseline on the segmentation proxy of issue 14: the CPU FCN R18-D8
# from the synthetic pretrained ResNetV1c backbone
# (configs/fcn/fcn_r18-d8_cpu_pretrained_cityscapes.py; `python tools/misc/pretrain_backbone.py
# --deep-stem` once), hard synthetic Cityscapes (200 training images, 128x256 crops, batch 4),
# mIoU on 100 held-out images of generator seed 1,
# 5 paired seeds. The FRSKD student is the baseline's model (pretrained_student) and schedule.
# The test reports mmseg's IoUMetric only: the official Cityscapes evaluation writes its PNGs to
# one folder of the working directory, which two runs at a time would share.
#   python tools/analysis/run_study.py \
#       configs/frskd/studies/frskd_fcn_r18-d8_pretrained_hard_cityscapes.py --jobs 2 --threads 1
description = ('FRSKD (BiFPN self-teacher on C1 and C4, attention transfer + pixel-wise soft-label '
               'KD, the authors\' segmentation weights) on the CPU FCN R18-D8 from the synthetic '
               'pretrained ResNetV1c backbone, hard synthetic Cityscapes; the same seed gives the '
               'FRSKD student the baseline\'s initial weights.')
data = dict(
    type='cityscapes',
    train=dict(num_train=200, num_val=20, seed=0, difficulty='hard'),
    # generator seed 1: held-out images never seen in training
    test=dict(num_train=1, num_val=100, seed=1, difficulty='hard'))
proxy_iters = 300
cfg_options = {
    'train_cfg.max_iters': proxy_iters,
    'train_cfg.val_interval': proxy_iters,
    'param_scheduler.1.end': proxy_iters,
    'default_hooks.checkpoint.interval': proxy_iters // 3,
    'test_evaluator': [dict(type='IoUMetric', iou_metrics=['mIoU'])],
}
pretrained_student = {
    'model.student.backbone.init_cfg':
    dict(type='Pretrained', checkpoint='~/.cache/skd_det/pretrained/resnet18_v1c_439b45a3fa.pth')
}
baseline = 'fcn_pretrained'
variants = dict(
    fcn_pretrained=dict(config='../../fcn/fcn_r18-d8_cpu_pretrained_cityscapes.py'),
    frskd=dict(config='../frskd_fcn_r18-d8_cpu_cityscapes.py', cfg_options=pretrained_student))
seeds = [0, 1, 2, 3, 4]
metrics = ['mIoU']
scale = 1
digits = 2
threads = 1
jobs = 2
