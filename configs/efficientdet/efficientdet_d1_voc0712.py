# EfficientDet-D1, VOC07+12, 640x640: EfficientNet-B1, BiFPN 88 x 4 layers, head 3 layers;
# otherwise efficientdet_d0_voc0712.py's recipe.
_base_ = './efficientdet_d0_voc0712.py'
image_size = 640
model = dict(
    compound_coef=1,
    input_size=image_size,
    backbone=dict(arch='b1'),
    neck=dict(in_channels=[40, 112, 320], out_channels=88, num_repeats=4),
    bbox_head=dict(in_channels=88, feat_channels=88, stacked_convs=3))
# efficientdet_d0's pipelines at this size
train_pipeline = [
    dict(t, **{k: (image_size, image_size)
               for k in ('scale', 'crop_size') if k in t}) for t in _base_.train_pipeline
]
test_pipeline = [
    dict(t, **{k: (image_size, image_size)
               for k in ('scale', 'crop_size') if k in t}) for t in _base_.test_pipeline
]
train_dataloader = dict(
    dataset=dict(
        dataset=dict(datasets=[
            dict(d, pipeline=train_pipeline)
            for d in _base_.train_dataloader.dataset.dataset.datasets
        ])))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
