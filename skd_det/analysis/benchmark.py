# Copyright (c) skd_det contributors.
"""Training and inference cost of several configs measured in one process, interleaved.

Iteration ``i`` of every model runs before iteration ``i + 1`` of any, all on the same
deterministic synthetic batch ``i``, so slow phases of a shared machine hit every model alike
and the ratios to the first config stay meaningful even when absolute times drift. Data
loading is not part of a step: batches are made before the timer starts.
"""
import copy
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.utils import ProgressBar

from skd_det.utils import InputError, task_of
from . import runtime
from .complexity import count_flops, parameter_split, student_of, total_loss
from .timing import ratios, state_bytes, step_peak_probe, summarize


@dataclass
class _Run:
    label: str
    config: str
    cfg: Config
    model: nn.Module
    optim_wrapper: object = None
    num_classes: int = 0
    times: List[float] = field(default_factory=list)

    @property
    def task(self) -> str:
        return task_of(self.cfg)


def resolve_device(device: Optional[str]) -> torch.device:
    if device == 'cuda' and not torch.cuda.is_available():
        raise InputError('--device cuda: no CUDA GPU is visible here')
    return torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _first_failure(run: _Run, what: str, batch_size: int, img_size, err: Exception):
    first = str(err).strip().splitlines()[0] if str(err).strip() else ''
    return InputError(f'{run.label}: {what} on a batch of {batch_size}x3x{img_size[0]}x'
                      f'{img_size[1]} failed ({type(err).__name__}: {first}); if the model '
                      'needs another input size, pass --img-size H W')


def _timed(run: _Run, dev: torch.device, step, record: bool, where: tuple):
    """``step()`` in the run's scope, its time appended to ``run.times`` if ``record``; a
    failure of the first iteration names the config (``where``: iteration, what, batch size,
    image size)."""
    it, what, batch_size, img_size = where
    with runtime.scope(run.cfg):
        _sync(dev)
        start = time.perf_counter()
        try:
            out = step()
        except Exception as e:
            if it == 0:
                raise _first_failure(run, what, batch_size, img_size, e) from None
            raise
        _sync(dev)
        if record:
            run.times.append(time.perf_counter() - start)
    return out


def _batch(run: _Run, batch_size: int, img_size, seed: int) -> dict:
    return runtime.synthetic_batch(run.task, batch_size, img_size, run.num_classes, seed)


def _complexity(run: _Run, batch_size: int, img_size, seed: int) -> Dict[str, dict]:
    """Parameters and per-image FLOPs of the student (inference forward, batch of one) and
    of the training-only part: FLOPs of the wrapper's training forward (``loss``) minus the
    student's own training forward on the same batch, both traced in train mode."""
    model = run.model
    student = student_of(model)
    flops = dict(student=None, training_only=0 if student is model else None)
    notes = []
    with runtime.scope(run.cfg):
        one = model.data_preprocessor(_batch(run, 1, img_size, seed), False)
        student.eval()
        try:
            flops['student'] = count_flops(student,
                                           lambda m, x: m(x, one['data_samples'], mode='tensor'),
                                           [one['inputs']])
        except Exception as e:  # a forward the tracer cannot follow: report, do not stop
            notes.append(f'student FLOPs not traceable: {type(e).__name__}: {e}')
        model.train()
        if student is not model:
            data = model.data_preprocessor(_batch(run, batch_size, img_size, seed), True)

            def training_flops(module):
                return count_flops(module, lambda m, x: total_loss(m.loss(x, data['data_samples'])),
                                   [data['inputs']])

            try:
                flops['training_only'] = (training_flops(model) -
                                          training_flops(student)) // batch_size
            except Exception as e:
                notes.append(f'training FLOPs not traceable: {type(e).__name__}: {e}')
    return dict(params=parameter_split(model), flops=flops, notes=notes)


def _build_runs(labels, configs, cfgs, device, seed, build_optim: bool) -> List[_Run]:
    runs = []
    for label, path, cfg in zip(labels, configs, cfgs):
        model = runtime.build_model(cfg, device, seed)
        run = _Run(label, path, cfg, model, num_classes=runtime.num_classes_of(model))
        if build_optim:
            from mmengine.optim import build_optim_wrapper
            if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and device.type != 'cuda':
                raise InputError(f'{label}: AmpOptimWrapper needs a CUDA device')
            with runtime.scope(cfg):
                run.optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        runs.append(run)
    return runs


def benchmark_train(configs: Sequence[str],
                    iters: int,
                    warmup: int,
                    batch_size: Optional[int] = None,
                    img_size: Optional[Sequence[int]] = None,
                    device: Optional[str] = None,
                    cfg_options: Optional[dict] = None,
                    seed: int = 0,
                    mem_iters: int = 3,
                    progress: bool = True) -> dict:
    """Time training steps (``train_step``: preprocessing, loss forward, backward and the
    config's optimizer wrapper update) of several configs, interleaved.

    Returns:
        dict: settings and, per config, time statistics (s/iter), memory (bytes), parameters,
        FLOPs and their ratios to the first config.
    """
    if iters < 1 or warmup < 0 or mem_iters < 1:
        raise InputError('--iters and --mem-iters must be >= 1, --warmup >= 0')
    dev = resolve_device(device)
    labels = runtime.labels_of(configs)
    cfgs = [runtime.load_config(path, cfg_options) for path in configs]
    size = runtime.common_input_size(cfgs, labels, 'train', img_size)
    if batch_size is None:
        sizes = {cfg.train_dataloader.get('batch_size') for cfg in cfgs}
        if len(sizes) != 1 or None in sizes:
            raise InputError('the configs train with different batch sizes: pass '
                             '--batch-size B')
        batch_size = sizes.pop()
    runs = _build_runs(labels, configs, cfgs, dev, seed, build_optim=True)

    complexity = {}
    for run in runs:  # repeated configs are the same model: count once
        if run.config not in complexity:
            complexity[run.config] = _complexity(run, batch_size, size, seed)

    bar = ProgressBar((warmup + iters) * len(runs), file=sys.stderr) if progress else None
    for it in range(warmup + iters):
        for run in runs:
            data = _batch(run, batch_size, size, seed + it)
            _timed(run, dev, lambda: run.model.train_step(data, run.optim_wrapper), it >= warmup,
                   (it, 'a training step', batch_size, size))
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')

    # ``mem_iters`` more steps each, interleaved, each measured alone (see timing.py); the
    # median, as single readings of the same step scatter by a few percent on CPU
    states = [state_bytes(run.model, run.optim_wrapper.optimizer) for run in runs]
    peaks = [[] for _ in runs]
    if step_peak_probe(dev).available():
        for it in range(mem_iters):
            for run, run_peaks in zip(runs, peaks):
                data = _batch(run, batch_size, size, seed + warmup + iters + it)
                probe = step_peak_probe(dev)
                with runtime.scope(run.cfg), probe:
                    run.model.train_step(data, run.optim_wrapper)
                run_peaks.append(probe.peak)
    memory = []
    for state, run_peaks in zip(states, peaks):
        step = int(np.median(run_peaks)) if run_peaks else None
        memory.append(
            dict(
                state=state,
                step_peak=step,
                step_peaks=run_peaks,
                peak=state + step if step is not None else None))

    entries = []
    for run, mem in zip(runs, memory):
        info = complexity[run.config]
        entries.append(
            dict(
                label=run.label,
                config=run.config,
                task=run.task,
                time=summarize(run.times),
                times=run.times,
                memory=mem,
                params=info['params'],
                flops=info['flops'],
                notes=info['notes']))
    _add_ratios(
        entries, {
            'time': lambda e: e['time']['median'],
            'peak_memory': lambda e: e['memory']['peak'],
            'params_student': lambda e: e['params']['student'],
            'params_training_only': lambda e: e['params']['training_only'],
            'flops_student': lambda e: e['flops']['student'],
            'flops_training_only': lambda e: e['flops']['training_only'],
        })
    return dict(
        **_setting('train', dev, batch_size, size, iters, warmup),
        mem_iters=mem_iters,
        seed=seed,
        configs=entries)


def _setting(kind: str, dev: torch.device, batch_size: int, size, iters: int, warmup: int) -> dict:
    """What a benchmark result records of how it was measured."""
    return dict(
        kind=kind,
        device=str(dev),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        batch_size=batch_size,
        img_size=list(size),
        iters=iters,
        warmup=warmup)


def _add_ratios(entries: List[dict], getters: dict) -> None:
    for key, get in getters.items():
        for entry, ratio in zip(entries, ratios(get(e) for e in entries)):
            entry.setdefault('ratios', {})[key] = ratio


def _flatten(outputs) -> List[torch.Tensor]:
    """The tensors of raw head outputs (nested tuples/lists) or of predicted data samples."""
    if torch.is_tensor(outputs):
        return [outputs]
    if isinstance(outputs, (list, tuple)):
        return [t for o in outputs for t in _flatten(o)]
    tensors = []
    if 'pred_instances' in outputs:
        p = outputs.pred_instances
        tensors += [p.bboxes, p.scores, p.labels]
    if 'pred_sem_seg' in outputs:
        tensors += [outputs.pred_sem_seg.data, outputs.seg_logits.data]
    return tensors


def _compare_outputs(ref, other) -> Tuple[bool, float]:
    """Whether two outputs agree (integers exactly, floats to 1e-4), and the largest
    absolute difference of their floats."""
    ref, other = _flatten(ref), _flatten(other)
    if len(ref) != len(other):
        return False, float('inf')
    ok, worst = True, 0.
    for x, y in zip(ref, other):
        if x.shape != y.shape:
            return False, float('inf')
        if not x.is_floating_point():
            ok &= bool(torch.equal(x, y))
        elif x.numel():
            worst = max(worst, float((x.float() - y.float()).abs().max()))
            ok &= bool(torch.allclose(x.float(), y.float(), rtol=1e-4, atol=1e-4))
    return ok, worst


def benchmark_inference(models: Sequence[Tuple[str, str]],
                        iters: int,
                        warmup: int,
                        batch_size: int = 1,
                        img_size: Optional[Sequence[int]] = None,
                        device: Optional[str] = None,
                        seed: int = 0,
                        progress: bool = True) -> dict:
    """Time ``test_step`` (preprocessing + predict, no gradients) of models given as
    ``(config, checkpoint)``, interleaved on the same batches, and compare every model's
    predictions and raw head outputs (``mode='tensor'``) with the first one's."""
    if iters < 1 or warmup < 0:
        raise InputError('--iters must be >= 1 and --warmup >= 0')
    dev = resolve_device(device)
    configs = [c for c, _ in models]
    labels = runtime.labels_of(configs)
    cfgs = [runtime.load_config(path) for path in configs]
    if len({task_of(cfg) for cfg in cfgs}) > 1:
        raise InputError('the configs are of different tasks (detection and segmentation)')
    size = runtime.common_input_size(cfgs, labels, 'test', img_size)
    runs = _build_runs(labels, configs, cfgs, dev, seed, build_optim=False)
    for run, (_, ckpt) in zip(runs, models):
        runtime.load_weights(run.model, ckpt)
        run.model.eval()
        kind = 'model' if student_of(run.model) is run.model else 'wrapper'
        run.label = f'{run.label} ({kind})'

    match, worst = True, 0.
    bar = ProgressBar((warmup + iters) * len(runs), file=sys.stderr) if progress else None
    with torch.no_grad():
        for it in range(warmup + iters):
            batch = _batch(runs[0], batch_size, size, seed + it)
            outputs = []
            for run in runs:
                data = copy.deepcopy(batch)  # test_step may edit the data samples
                outputs.append(
                    _timed(run, dev, lambda: run.model.test_step(data), it >= warmup,
                           (it, 'predict', batch_size, size)))
                if bar is not None:
                    bar.update()
            for out in outputs[1:]:
                same, diff = _compare_outputs(outputs[0], out)
                match &= same
                worst = max(worst, diff)
        # the raw head outputs too: predictions alone agree trivially when no score passes
        # the test threshold (an untrained model)
        batch = _batch(runs[0], batch_size, size, seed)
        raw = []
        for run in runs:
            with runtime.scope(run.cfg):
                data = run.model.data_preprocessor(copy.deepcopy(batch), False)
                raw.append(run.model(**data, mode='tensor'))
        for out in raw[1:]:
            same, diff = _compare_outputs(raw[0], out)
            match &= same
            worst = max(worst, diff)
    if bar is not None:
        sys.stderr.write('\n')
    entries = [
        dict(
            label=run.label,
            config=run.config,
            checkpoint=ckpt,
            time=summarize(run.times),
            times=run.times) for run, (_, ckpt) in zip(runs, models)
    ]
    _add_ratios(entries, {'time': lambda e: e['time']['median']})
    return dict(
        **_setting('inference', dev, batch_size, size, iters, warmup),
        seed=seed,
        configs=entries,
        outputs_match=match if len(runs) > 1 else None,
        max_abs_diff=worst)
