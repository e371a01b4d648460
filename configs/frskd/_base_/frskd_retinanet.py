# FRSKD on a dense single-stage mmdet detector (RetinaNet): frskd_efficientdet.py's wrapper and
# hook, with skd_det imported and the hook set. A leaf wraps its student with
#   _base_ = [<student config>, './_base_/frskd_retinanet.py']
#   model = dict(_base_.frskd, _delete_=True, student=_base_.model)
_base_ = './frskd_efficientdet.py'
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
custom_hooks = _base_.frskd_hooks
