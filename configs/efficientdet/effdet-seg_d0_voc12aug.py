# FRSKD's segmentation baseline at D0 (configs/_base_/models/effdet-seg_d0.py; the paper's 79.07
# mIoU), with the authors' recipe (segmentation/main.py, utils/dataset.py): 60 epochs of SGD
# (lr 0.01, x0.1 at epoch 40, momentum 0.9, weight decay 5e-4), batch 16 with 2 accumulation
# steps (32 images per update), gradients clipped at value 2; random scale (short side 256..1024),
# 512x512 crop, flip; test images resized to 512x512. Data: VOC2012 aug (the authors train on
# VOC07+12 segmentation trainval and test on VOC07 test; see configs/frskd/README.md).
_base_ = [
    '../_base_/models/effdet-seg_d0.py', '../_base_/datasets/voc12aug.py',
    'mmseg::_base_/default_runtime.py'
]
crop_size = (512, 512)
# no PhotoMetricDistortion or cat_max_ratio (the authors' Gaussian blur with p=0.5 is not here:
# neither mmcv nor mmseg has it)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
train_dataloader = dict(
    batch_size=16,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=train_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                ann_file='ImageSets/Segmentation/aug.txt',
                pipeline=train_pipeline),
        ]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(type='value', clip_value=2.0),
    accumulative_counts=2)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[40], gamma=0.1)]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
# the classifier reads P2 only, so without FRSKD's teacher the last BiFPN-seg layer's bottom-up
# nodes get no gradient (kept: they are part of the authors' model, and FRSKD trains them)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
