# Copyright (c) skd_det contributors.
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LGDPhaseHook(Hook):
    """The training phases of LGD, "LGD: Label-guided Self-distillation for
    Object Detection" (Zhang et al., AAAI 2022), as fractions of the run.

    The authors' 2x schedule (180k iterations) detaches the student side of
    the feature loss for the first 30k iterations (``PRE_NONDISTILL_ITERS``:
    the adapter warms up on the teacher's targets without pulling the
    student) and drops every gradient of the student's backbone (the ResNet,
    not the FPN) for the first 20k (``PRE_FREEZE_STUDENT_BACKBONE_ITERS``:
    ``p.grad = None`` after the backward of all losses, so the optimizer
    skips those parameters). With ``p = iter / max_iters`` (0-based
    ``iter``)::

        teacher.detach_distill_student = p < adapter_warmup     (30k/180k)
        backbone frozen                = p < freeze_backbone    (20k/180k)

    so 1x, 2x and short CPU schedules keep the same proportions. The
    backbone is frozen by turning off ``requires_grad`` of its parameters
    that are trainable when training starts (``frozen_stages`` stay as they
    are) while the phase lasts, on again after it: no gradient reaches
    them, the optimizer skips them (no weight decay, no momentum) as the
    authors' ``grad = None`` does, gradient clipping does not see them (the
    authors' clipping runs inside the optimizer step, after the drop), and
    the backbone's backward is not computed. mmengine's optimizer wrapper
    runs backward, clipping and step in one call, so there is no place to
    drop the gradients in between. Under DDP, parameters without a gradient
    need ``find_unused_parameters=True`` (set in the LGD configs; without
    it the hook stops before the first iteration).

    Before every training iteration the hook sets the phase (also inside
    DDP) and logs it as ``lgd_detach_distill_student`` /
    ``lgd_freeze_backbone`` (0/1). The phase is recomputed from
    ``runner.iter`` and ``runner.max_iters`` each time, so a ``--resume``d
    run is in the right phase. The authors' gradient clipping (per element,
    at 1.0) is the optimizer wrapper's ``clip_grad=dict(type='value',
    clip_value=1.0)``.

    Args:
        adapter_warmup (float): Fraction of the run with the student side of
            the feature loss detached. Defaults to 1/6.
        freeze_backbone (float): Fraction of the run with the student's
            backbone frozen. Defaults to 1/9.
    """

    priority = 'NORMAL'

    def __init__(self, adapter_warmup: float = 1 / 6, freeze_backbone: float = 1 / 9) -> None:
        for name, value in (('adapter_warmup', adapter_warmup), ('freeze_backbone',
                                                                 freeze_backbone)):
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f'LGDPhaseHook.{name} must be a fraction of '
                                 f'the run in [0, 1], got {value!r}')
        self.adapter_warmup = adapter_warmup
        self.freeze_backbone = freeze_backbone
        self._backbone_params = []

    def phase_at(self, iteration: int, max_iters: int) -> dict:
        """``{'detach_distill_student': bool, 'freeze_backbone': bool}`` at
        0-based ``iteration`` of a run of ``max_iters``."""
        return dict(
            detach_distill_student=iteration < self.adapter_warmup * max_iters,
            freeze_backbone=iteration < self.freeze_backbone * max_iters)

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        teacher = getattr(model, 'teacher', None)
        backbone = getattr(getattr(model, 'student', None), 'backbone', None)
        if not hasattr(teacher, 'detach_distill_student') or backbone is None:
            raise TypeError(f'LGDPhaseHook schedules the phases of a SelfDistillDetector '
                            f'with an LGDTeacher and a student with a backbone; the model '
                            f'is a {type(model).__name__} with teacher '
                            f'{type(teacher).__name__} and student backbone '
                            f'{type(backbone).__name__}')
        return model

    def before_train(self, runner) -> None:
        # fail before the first iteration, not during; remember what trains
        if (self.freeze_backbone > 0 and is_model_wrapper(runner.model)
                and getattr(runner.model, 'find_unused_parameters', True) is False):
            raise ValueError('LGDPhaseHook.freeze_backbone > 0 leaves the backbone without '
                             'gradients, which DDP rejects unless the config sets '
                             'find_unused_parameters=True (or model_wrapper_cfg with it)')
        self._backbone_params = [
            p for p in self._model(runner).student.backbone.parameters() if p.requires_grad
        ]

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        phase = self.phase_at(runner.iter, runner.max_iters)
        self._model(runner).teacher.detach_distill_student = phase['detach_distill_student']
        for p in self._backbone_params:
            p.requires_grad_(not phase['freeze_backbone'])
        for key, value in phase.items():
            runner.message_hub.update_scalar(f'train/lgd_{key}', int(value))

    def after_train(self, runner) -> None:
        # leave the model as it was built (a run may end inside the phase)
        for p in self._backbone_params:
            p.requires_grad_(True)
