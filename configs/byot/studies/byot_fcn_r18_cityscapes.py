# BYOT FCN R18-D8 against its baseline on hard synthetic Cityscapes (200 training images, 128x256
# crops, 500 iterations of batch 4 -- a quarter of the CPU schedule, ~3.5 s/iter for the baseline
# and ~1.3x that for BYOT on one thread here -- mIoU on 100 held-out images), three paired seeds,
# one run at a time (the Cityscapes evaluator writes to one shared folder). Each exit's mIoU:
# export it with tools/model_converters/export_student.py --exit K and test the export.
#   python tools/analysis/run_study.py configs/byot/studies/byot_fcn_r18_cityscapes.py
description = ('BYOT (FCNHead exits on C1-C3 distilled pixel-wise from the student\'s decode '
               'head, the authors\' bottleneck as feature adapter; alpha 0.1, T 3, lambda 1e-6) '
               'on the CPU FCN R18-D8 from scratch, hard synthetic Cityscapes, 500 iterations; '
               'the same seed gives the BYOT student the baseline\'s initial weights.')
data = dict(
    type='cityscapes',
    train=dict(num_train=200, num_val=20, seed=0, difficulty='hard'),
    # generator seed 1: held-out images never seen in training
    test=dict(num_train=1, num_val=100, seed=1, difficulty='hard'))
baseline = 'fcn'
variants = dict(
    fcn=dict(config='../../fcn/fcn_r18-d8_cpu_cityscapes.py'),
    byot=dict(config='../byot_fcn_r18-d8_cpu_cityscapes.py'))
cfg_options = {
    'train_cfg.max_iters': 500,
    'train_cfg.val_interval': 500,
    'param_scheduler.1.end': 500,
}
seeds = [0, 1, 2]
metrics = ['mIoU']
scale = 1
digits = 2
threads = 1
jobs = 1
