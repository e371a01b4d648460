# EfficientDet-Lite0, COCO 2017, 320x320: efficientdet_d0_coco.py's recipe (the official one:
# scale jitter + crops, SGD lr 0.16 for 8 GPUs x 16 images, cosine over 300 epochs, EMA) on the
# Lite0 model (`python tools/misc/imagenet_weights.py` first for its ImageNet backbone).
_base_ = ['./efficientdet_d0_coco.py', '../_base_/models/efficientdet_lite0.py']
model = _base_.efficientdet_lite0
image_size = 320
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
