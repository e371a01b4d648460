# Copyright (c) skd_det contributors.
import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from skd_det.utils.checkpoint import TrainingFault


def _non_finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and not bool(torch.isfinite(value).all())
    return isinstance(value, float) and not math.isfinite(value)


def _scalar(value) -> float:
    # log_vars may still require grad (mmengine detaches them only when logging)
    return float(value.detach().float().mean()) if isinstance(value, torch.Tensor) else value


def _first_non_finite(named_tensors) -> Optional[str]:
    """Name of the first floating tensor with a NaN/inf, read back with one sync."""
    named = [(n, t) for n, t in named_tensors
             if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not named:
        return None
    finite = torch.stack([torch.isfinite(t).all() for _, t in named])
    if bool(finite.all()):
        return None
    return named[int((~finite).nonzero()[0])][0]


@HOOKS.register_module()
class CheckFiniteHook(Hook):
    """Stop training at a non-finite loss, gradient norm or weight, before it is saved.

    mmdet's ``CheckInvalidLossHook`` does the first part for mmdet only: every ``interval``
    iterations it asserts that the total loss is finite, with an empty message (the assertion's
    message is the return value of ``logger.info``). This hook works for any mmengine model
    and raises :class:`~skd_det.utils.checkpoint.TrainingFault` (printed as one line by
    ``tools/train.py``) naming the iteration and

    - every logged loss that is NaN/inf (``loss``, ``loss_cls``, ``distill.loss_at``, ...),
      and the gradient norm when the optimizer wrapper clips and logs it (``grad_norm``);
    - otherwise the first weight that is not finite after the optimizer step (what a
      non-finite gradient leaves behind even when the loss is finite).

    It also checks every checkpoint before it is written (``before_save_checkpoint``), so a
    checkpoint saved between two checks can never hold NaN weights, whatever the interval.

    Args:
        interval (int): Check every ``interval`` training iterations. Defaults to 1 (the
            losses are already read back every iteration for logging).
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) in after_train_iter

    def __init__(self, interval: int = 1) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'CheckFiniteHook: interval must be an int >= 1, got {interval!r}')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        where = f'iteration {runner.iter + 1}'
        bad = [f'{k}={_scalar(v):g}' for k, v in (outputs or {}).items() if _non_finite(v)]
        grad_norm = runner.message_hub.log_scalars.get('train/grad_norm')
        if grad_norm is not None and not math.isfinite(grad_norm.current()):
            bad.append(f'grad_norm={grad_norm.current():g}')
        if bad:
            raise TrainingFault(f'non-finite loss at {where}: {", ".join(bad)}')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        name = _first_non_finite(model.named_parameters())
        if name is not None:
            raise TrainingFault(f'non-finite weight {name} after the optimizer step at {where} '
                                '(a non-finite gradient)')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        name = _first_non_finite(checkpoint.get('state_dict', {}).items())
        if name is not None:
            done = checkpoint.get('meta', {}).get('iter', runner.iter)
            raise TrainingFault(f'the checkpoint due after iteration {done} holds a non-finite '
                                f'weight ({name}); it was not written')
