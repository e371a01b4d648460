# Copyright (c) skd_det contributors.
"""Timing statistics and per-step peak-memory probes for benchmarks that interleave models.

Peak memory of one model in a process that holds several is isolated in two parts:

- its *state*: the bytes of its parameters, buffers, gradients and optimizer state, counted
  from the tensors (shared storages once);
- its *step peak*: the growth of memory during one of its steps over the memory before it.
  CUDA: ``max_memory_allocated`` after ``reset_peak_memory_stats`` minus
  ``memory_allocated`` before. CPU: peak resident set size (``VmHWM``, reset through
  ``/proc/self/clear_refs``) minus ``VmRSS`` before, after ``malloc_trim(0)`` has handed the
  pages freed by earlier steps (of any model) back to the kernel, so that memory the step
  reuses from the allocator shows up as growth too.

Peak = state + step peak. The other models' state is in the baseline of both readings and so
never counted. CPU readings include non-tensor allocations of the step (Python objects,
library workspaces), which is what a training process pays.
"""
import ctypes
import ctypes.util
from typing import Dict, Iterable, Optional, Sequence

import numpy as np
import torch

_CLEAR_REFS = '/proc/self/clear_refs'


def summarize(times: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles, min, max and mean of per-iteration times (seconds)."""
    t = np.asarray(times, dtype=np.float64)
    q25, median, q75 = np.percentile(t, [25, 50, 75])
    return dict(
        median=float(median),
        q25=float(q25),
        q75=float(q75),
        iqr=float(q75 - q25),
        min=float(t.min()),
        max=float(t.max()),
        mean=float(t.mean()),
        n=int(t.size))


def state_bytes(model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer] = None) -> int:
    """Bytes held by ``model``'s parameters, buffers and gradients and the optimizer state,
    including modules held as plain attributes (a frozen teacher hidden from ``parameters()``,
    as ``FrozenTeacher`` and ``FGFITeacher`` keep it)."""
    tensors = list(model.parameters()) + list(model.buffers())
    for module in model.modules():
        for hidden in vars(module).values():
            if isinstance(hidden, torch.nn.Module):
                tensors += list(hidden.parameters()) + list(hidden.buffers())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    if optimizer is not None:
        for state in optimizer.state.values():
            tensors += [v for v in state.values() if torch.is_tensor(v)]
    seen = {}
    for t in tensors:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return int(sum(seen.values()))


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


class CpuStepPeak:
    """Resident-memory growth of a step: ``with probe: step()``, then ``probe.peak`` (bytes).

    Needs Linux (``/proc/self/clear_refs`` resets the peak since 4.0) and glibc for
    ``malloc_trim``; :meth:`available` says whether both work here.
    """

    def __init__(self):
        path = ctypes.util.find_library('c')
        self._libc = ctypes.CDLL(path) if path else None
        self.peak: Optional[int] = None

    def available(self) -> bool:
        if self._libc is None or not hasattr(self._libc, 'malloc_trim'):
            return False
        try:
            with open(_CLEAR_REFS, 'w') as f:
                f.write('5')
            _status_kib('VmHWM')
        except (OSError, KeyError):
            return False
        return True

    def __enter__(self):
        self._libc.malloc_trim(0)
        self._start = _status_kib('VmRSS')
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')  # the peak RSS starts again from the current RSS
        return self

    def __exit__(self, *exc):
        self.peak = max(_status_kib('VmHWM') - self._start, 0) * 1024


class CudaStepPeak:
    """Allocated CUDA memory growth of a step (see :class:`CpuStepPeak`)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.peak: Optional[int] = None

    def available(self) -> bool:
        return True

    def __enter__(self):
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self._start = torch.cuda.memory_allocated(self.device)
        return self

    def __exit__(self, *exc):
        torch.cuda.synchronize(self.device)
        self.peak = torch.cuda.max_memory_allocated(self.device) - self._start


def step_peak_probe(device: torch.device):
    return CudaStepPeak(device) if device.type == 'cuda' else CpuStepPeak()


def ratios(values: Iterable[Optional[float]]) -> list:
    """Each value divided by the first; None where either is missing or the first is 0."""
    values = list(values)
    base = values[0] if values else None
    return [v / base if v is not None and base else None for v in values]
