# EfficientDet-D2, COCO 2017, 768x768: EfficientNet-B2, BiFPN 112 x 5 layers, head 3 layers;
# otherwise efficientdet_d0_coco.py's recipe.
_base_ = './efficientdet_d0_coco.py'
image_size = 768
model = dict(
    compound_coef=2,
    input_size=image_size,
    backbone=dict(arch='b2'),
    neck=dict(in_channels=[48, 120, 352], out_channels=112, num_repeats=5),
    bbox_head=dict(in_channels=112, feat_channels=112, stacked_convs=3))
# efficientdet_d0's pipelines at this size
train_pipeline = [
    dict(t, **{k: (image_size, image_size)
               for k in ('scale', 'crop_size') if k in t}) for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, **{k: (image_size, image_size)
               for k in ('scale', 'crop_size') if k in t}) for t in _base_.test_pipeline
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
