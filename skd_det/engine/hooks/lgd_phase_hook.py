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
    the feature loss for the first 30k iterations (the adapter warms up on
    the teacher's targets without pulling the student) and keeps the
    teacher branch's gradient out of the backbone for the first 20k. With
    ``p = iter / max_iters`` (0-based ``iter``)::

        teacher.detach_distill_student = p < adapter_warmup    (30k/180k)
        teacher.detach_teacher_input   = p < teacher_isolation (20k/180k)

    so 1x, 2x and short CPU schedules keep the same proportions. Before
    every training iteration the hook sets both attributes of the wrapper's
    ``LGDTeacher`` (also inside DDP) and logs them as
    ``lgd_detach_distill_student`` / ``lgd_detach_teacher_input`` (0/1).
    They are recomputed from ``runner.iter`` and ``runner.max_iters`` each
    time, so a ``--resume``d run is in the right phase. The authors' gradient
    clipping (per element, at 1.0) is the optimizer wrapper's
    ``clip_grad=dict(type='value', clip_value=1.0)``.

    Args:
        adapter_warmup (float): Fraction of the run with the student side of
            the feature loss detached. Defaults to 1/6.
        teacher_isolation (float): Fraction of the run with the teacher
            branch's input detached. Defaults to 1/9.
    """

    priority = 'NORMAL'

    def __init__(self, adapter_warmup: float = 1 / 6,
                 teacher_isolation: float = 1 / 9) -> None:
        for name, value in (('adapter_warmup', adapter_warmup),
                            ('teacher_isolation', teacher_isolation)):
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f'LGDPhaseHook.{name} must be a fraction of '
                                 f'the run in [0, 1], got {value!r}')
        self.adapter_warmup = adapter_warmup
        self.teacher_isolation = teacher_isolation

    def phase_at(self, iteration: int, max_iters: int) -> dict:
        """``{'detach_distill_student': bool, 'detach_teacher_input':
        bool}`` at 0-based ``iteration`` of a run of ``max_iters``."""
        return dict(
            detach_distill_student=iteration <
            self.adapter_warmup * max_iters,
            detach_teacher_input=iteration <
            self.teacher_isolation * max_iters)

    @staticmethod
    def _teacher(runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        teacher = getattr(model, 'teacher', None)
        if not all(hasattr(teacher, k) for k in ('detach_distill_student',
                                                 'detach_teacher_input')):
            raise TypeError(
                f'LGDPhaseHook schedules the phases of a SelfDistillDetector '
                f'with an LGDTeacher; the model is a {type(model).__name__} '
                f'with teacher {type(teacher).__name__}')
        return teacher

    def before_train(self, runner) -> None:
        self._teacher(runner)  # fail before the first iteration, not during

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        teacher = self._teacher(runner)
        for key, value in self.phase_at(runner.iter,
                                        runner.max_iters).items():
            setattr(teacher, key, value)
            runner.message_hub.update_scalar(f'train/lgd_{key}', int(value))
