# FGFI (Wang et al., CVPR 2019) teacher part and loss for an anchor-based mmdet student. A leaf
# config lists [student config, this file] as _base_ and sets
#   model = dict(_base_.fgfi, _delete_=True, student=_base_.model,
#                teacher=dict(_base_.fgfi.teacher, config=TEACHER_CONFIG))
# (mmengine forbids a key, e.g. `model`, in two bases, hence the separate names). Train the
# teacher with TEACHER_CONFIG first and pass --cfg-options model.teacher.checkpoint=PATH
# (without one it keeps its random initialisation and a warning is logged).
custom_imports = dict(imports=['skd_det.det'], allow_failed_imports=False)
fgfi = dict(
    type='SelfDistillDetector',
    # None: the student's preprocessor (the Runner fills a top-level `data_preprocessor` into
    # the model config only where the key is missing)
    data_preprocessor=None,
    # the paper's psi = 0.5; the authors' adapter (3x3 conv + ReLU, N(0, 1e-4) weights)
    teacher=dict(type='FGFITeacher', checkpoint=None, psi=0.5, adapter_relu=True),
    # the authors' imitation weight (trainval_net_sup.py --ilw default 0.01)
    distill_losses=dict(loss_feat=dict(type='FGFILoss', loss_weight=0.01)))
# the authors' code imitates from its 401st iteration of one image (--ws 400): 400 images are
# 25 iterations of the 8 GPUs x 2 images here (the CPU leaves, 4 images per step, set 100)
custom_hooks = [dict(type='DistillStartHook', begin_iter=25)]
