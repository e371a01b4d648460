# FRSKD on an mmseg encoder-decoder with a dilated (D8) ResNet (FCN): frskd_efficientdet-seg.py's
# wrapper and hook, with skd_det imported and the hook set. The D8 backbone has strides 4, 8, 8,
# 8 and a BiFPN needs halving resolutions, so the teacher takes C1 (stride 4) and C4 (stride 8,
# the decode head's input); its head is a copy of the FCN head. A leaf wraps its student with
#   _base_ = [<student config>, './_base_/frskd_fcn.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model)
_base_ = './frskd_efficientdet-seg.py'
custom_imports = dict(imports=['skd_det.seg'], allow_failed_imports=False)
frskd = dict(
    teacher=dict(
        in_indices=(0, 3), neck=dict(type='BiFPN', out_channels=256, norm_cfg=dict(type='SyncBN'))))
custom_hooks = _base_.frskd_hooks
