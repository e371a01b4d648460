# Copyright (c) skd_det contributors.
"""Parameters and FLOPs of a model, split into the student and the training-only part.

A self-distillation wrapper keeps the deployed model under ``student.`` and everything used
only in training (the ``teacher.`` part, distillation losses) beside it; a plain model is all
student. FLOPs are counted by mmengine's ``FlopAnalyzer`` (fvcore's jit-trace counter): one
multiply-accumulate counts as one FLOP, elementwise operations are not counted.
"""
import warnings
from typing import Callable, Dict, Sequence

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from skd_det.models.distillers.base import STUDENT_PREFIX


def student_of(model: nn.Module) -> nn.Module:
    """The deployed part of ``model``: its ``student`` submodule for a wrapper, else itself."""
    student = getattr(model, 'student', None)
    return student if isinstance(student, nn.Module) else model


def parameter_split(model: nn.Module) -> Dict[str, int]:
    """Number of parameters under ``student.`` and of the rest (training-only).

    For a model that is not a wrapper every parameter is the student's.
    """
    if student_of(model) is model:
        return dict(student=sum(p.numel() for p in model.parameters()), training_only=0)
    counts = dict(student=0, training_only=0)
    for name, p in model.named_parameters():
        counts['student' if name.startswith(STUDENT_PREFIX) else 'training_only'] += p.numel()
    return counts


class _Call(nn.Module):
    """Traceable module running ``fn(module, *inputs)``; ``module`` stays a submodule so its
    parameters are seen by the tracer."""

    def __init__(self, module: nn.Module, fn: Callable):
        super().__init__()
        self.module = module
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(self.module, *inputs)


def count_flops(module: nn.Module, fn: Callable, inputs: Sequence[torch.Tensor]) -> int:
    """FLOPs of ``fn(module, *inputs)``, traced once without gradients.

    ``fn`` must return tensors (or tuples/lists/dicts of them).
    """
    analyzer = FlopAnalyzer(_Call(module, fn), tuple(inputs))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return int(analyzer.total())


def total_loss(losses: dict) -> torch.Tensor:
    """Sum of the loss terms of an mmdet/mmseg loss dict (keys containing ``loss``), the
    value ``parse_losses`` optimises, as one traceable tensor."""
    total = 0
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        for term in (value if isinstance(value, (list, tuple)) else [value]):
            total = total + term.sum()
    return total
