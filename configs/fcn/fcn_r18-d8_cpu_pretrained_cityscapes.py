# CPU-sized FCN R18-D8 on (synthetic) Cityscapes from the synthetic pretrained ResNetV1c backbone
# (`python tools/misc/pretrain_backbone.py --deep-stem` first; the file name hashes its recipe).
# As mmseg's recipe nothing is frozen and BN trains; the optimiser stays the CPU config's AdamW +
# poly, not mmseg's SGD (schedule_40k): on the detection proxy SGD of the real recipe's shape
# did not learn in the short CPU schedule (configs/retinanet/README.md). Its seed spread and
# FRSKD on it: configs/fcn/README.md, configs/frskd/README.md.
_base_ = './fcn_r18-d8_cpu_cityscapes.py'
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='~/.cache/skd_det/pretrained/resnet18_v1c_439b45a3fa.pth')))
