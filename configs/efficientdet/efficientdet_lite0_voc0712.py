# EfficientDet-Lite0, VOC07+12 -> VOC2007 test, 320x320: efficientdet_d0_voc0712.py's recipe
# (scale jitter 0.1-2.0 + crops, SGD, 8 GPUs x 16 images) on the Lite0 model
# (`python tools/misc/imagenet_weights.py` first for its ImageNet backbone).
_base_ = ['./efficientdet_d0_voc0712.py', '../_base_/models/efficientdet_lite0.py']
model = _base_.efficientdet_lite0
image_size = 320
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
