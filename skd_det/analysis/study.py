# Copyright (c) skd_det contributors.
"""Seed studies: several variants (config + cfg-options) trained and tested on the same
seeds and the same generated synthetic data, resumable, ``N`` runs at a time.

The study file format and the tool are described in ``tools/analysis/run_study.py``. The
steps of a run are tools/train.py and tools/test.py, each run as ``__main__`` in a process
forked from the study's (warm: the imports are done once). A run
is identified by its full config and data: studies that share a run (the same baseline on
the same protocol) share its directory, ``<runs dir>/<config name>_<key>/seed<S>/``, with
``key`` a hash of the config (cfg-options merged, seed left out) and the generator
arguments of both data sets::

    config.py         the run's full config (options and seed merged)
    train/ test/      work dirs of tools/train.py and tools/test.py, with train.log test.log
    trained.json      training finished (it is not repeated)
    result.json       tested: the run is finished and is skipped
    running.json      the runner training or testing it now (pid, host): another runner on
                      the same runs skips it, so several runners can share a study's runs
                      (a runner that died leaves it; it is taken over when its pid is gone)

``test_cfg_options`` (e.g. another test evaluator) change only the test step: they are left
out of the key, so a study that adds metrics shares the training runs of one that does not.
Its tests go beside the plain ones under a tag hashing those options:
``test_config_<tag>.py``, ``test_<tag>/``, ``test_<tag>.log``, ``result_<tag>.json``.

The data is generated once under ``<data dir>/<format>_<hash of the generator arguments>``.
"""
import copy
import hashlib
import importlib
import inspect
import json
import math
import multiprocessing
import os
import os.path as osp
import runpy
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable, Dict, List, Optional

from mmengine.config import Config

from skd_det.utils import InputError, load_config
from . import logs

# forked steps share this process's imports (a fresh interpreter imports for seconds)
FORK = multiprocessing.get_context('fork')
# the packages mmdet's / mmseg's registries import when a runner is built
IMPORTED_BY_RUNNER = ('models', 'datasets', 'evaluation', 'engine', 'visualization')
DATA_ROOTS = dict(voc='VOCdevkit', coco='', cityscapes='')
REQUIRED = ('data', 'variants', 'baseline', 'seeds', 'metrics')
DEFAULTS = dict(
    cfg_options={},
    test_cfg_options={},
    seed_key='randomness.seed',
    scale=1.,
    digits=2,
    threads=1,
    jobs=1,
    description='')


@dataclass
class Run:
    """One (variant, seed) of a study; ``error`` is set when it cannot run or failed,
    ``skipped`` when another runner was running it."""
    variant: str
    seed: int
    work_dir: str
    config: Optional[str] = None
    error: Optional[str] = None
    test_config: Optional[str] = None
    test_tag: str = ''  # '' or '_<hash of test_cfg_options>'
    skipped: Optional[str] = None

    @property
    def name(self) -> str:
        return f'{self.variant} seed {self.seed}'

    def path(self, *parts: str) -> str:
        return osp.join(self.work_dir, *parts)

    def test_path(self, name: str, ext: str = '') -> str:
        """``test``/``test.log``/``result.json`` of this run's test options."""
        return self.path(name + self.test_tag + ext)


def _generator(fmt: str) -> Callable:
    from skd_det.datasets import synthetic
    return getattr(synthetic, f'generate_{fmt}')


def load_study(path: str) -> Config:
    """Load and check a study file; the defaults of the optional keys are filled in and
    ``name`` defaults to the file name."""
    if not osp.isfile(path):
        raise InputError(f'study file {path} does not exist')
    study = Config.fromfile(path)
    where = f'study {path}'
    missing = [k for k in REQUIRED if k not in study]
    if missing:
        raise InputError(f'{where}: missing {missing} (it needs {list(REQUIRED)})')
    for key, value in DEFAULTS.items():
        study.setdefault(key, value)
    study.setdefault('name', osp.splitext(osp.basename(path))[0])
    if not isinstance(study.seeds, (list, tuple)):
        raise InputError(f'{where}: `seeds` must be a list, e.g. [0, 1, 2], got {study.seeds!r}')
    seeds = list(study.seeds)
    if not seeds:
        raise InputError(f'{where}: `seeds` is empty; list the seeds to run, e.g. [0, 1, 2]')
    if not all(isinstance(s, int) and s >= 0 for s in seeds) or len(set(seeds)) < len(seeds):
        raise InputError(f'{where}: `seeds` must be distinct non-negative integers, got {seeds}')
    if not isinstance(study.variants, dict) or not study.variants:
        raise InputError(f'{where}: `variants` must be a non-empty dict name -> '
                         "dict(config=..., cfg_options={...})")
    for name, variant in study.variants.items():
        if not isinstance(variant, dict) or 'config' not in variant:
            raise InputError(f'{where}: variant {name!r} has no `config`')
        unknown = set(variant) - {'config', 'cfg_options', 'test_cfg_options'}
        if unknown:
            raise InputError(f'{where}: variant {name!r} has unknown keys {sorted(unknown)} '
                             "(it takes 'config', 'cfg_options' and 'test_cfg_options')")
    if study.baseline not in study.variants:
        raise InputError(f'{where}: baseline {study.baseline!r} is not one of the variants '
                         f'{list(study.variants)}')
    if not isinstance(study.metrics, (list, tuple)) or not study.metrics:
        raise InputError(f'{where}: `metrics` must be a non-empty list of test log keys, e.g. '
                         f"['pascal_voc/mAP'], got {study.metrics!r}")
    _check_data(study.data, where)
    study.study_dir = osp.dirname(osp.abspath(path))
    return study


def _check_data(data: dict, where: str) -> None:
    fmt = data.get('type')
    if fmt not in DATA_ROOTS:
        raise InputError(f'{where}: data.type must be one of {sorted(DATA_ROOTS)}, got {fmt!r}')
    accepted = set(inspect.signature(_generator(fmt)).parameters) - {'out_dir', 'overwrite'}
    for split in ('train', 'test'):
        if not isinstance(data.get(split), dict):
            raise InputError(f'{where}: data.{split} must be a dict of generate_{fmt} '
                             f'arguments ({sorted(accepted)})')
        unknown = set(data[split]) - accepted
        if unknown:
            raise InputError(f'{where}: data.{split} has unknown generate_{fmt} arguments '
                             f'{sorted(unknown)}; it takes {sorted(accepted)}')


def prepare_data(study: Config, data_dir: str, log=print) -> Dict[str, str]:
    """Generate the train and test data once (reused by every study with the same
    generator arguments); returns the ``--data-root`` of each split."""
    fmt = study.data.type
    roots = {}
    for split in ('train', 'test'):
        kwargs = dict(study.data[split])
        recipe = _recipe(study, split)
        folder = osp.join(data_dir, f'{fmt}_{_key(recipe)}')
        if not osp.isfile(osp.join(folder, 'recipe.json')):
            log(f'generating the {split} data: {recipe} -> {folder}')
            tmp = f'{folder}.tmp{os.getpid()}'
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                _generator(fmt)(tmp, **kwargs)
            except ValueError as e:
                raise InputError(f'study {study.name}: data.{split}: {e}') from None
            with open(osp.join(tmp, 'recipe.json'), 'w') as f:
                f.write(recipe + '\n')
            shutil.rmtree(folder, ignore_errors=True)  # a copy without its recipe is partial
            os.replace(tmp, folder)  # atomic: a crash never leaves a half-written data set
        roots[split] = osp.join(folder, study.data.get('root', DATA_ROOTS[fmt]))
    return roots


def _recipe(study: Config, split: str) -> str:
    return json.dumps(dict(format=study.data.type, **study.data[split]), sort_keys=True)


def _key(*texts: str) -> str:
    return hashlib.sha1('\n'.join(texts).encode()).hexdigest()[:10]


def variant_config(study: Config, variant: str) -> str:
    """The config file of ``variant``: a relative path is relative to the study file's folder
    (the loaded study's, also for a variant inherited from a base study elsewhere)."""
    config = study.variants[variant]['config']
    return config if osp.isabs(config) else osp.normpath(osp.join(study.study_dir, config))


def _check_teacher_checkpoint(cfg: Config, variant: str) -> None:
    """A teacher checkpoint given as a local file must exist: said once, before any run
    trains, rather than by every run when it builds its model."""
    teacher = (cfg.get('model') or {}).get('teacher')
    path = teacher.get('checkpoint') if isinstance(teacher, dict) else None
    if isinstance(path, str) and '://' not in path and not osp.isfile(path):
        raise InputError(f'variant {variant!r}: model.teacher.checkpoint {path} does not exist '
                         f'(a relative path is read from {os.getcwd()}); train the teacher '
                         'first')


def plan_runs(study: Config, runs_dir: str) -> List[Run]:
    """Every (variant, seed), its full config written to ``config.py``; a variant whose
    config is missing or whose options are not in it gets the error on all of its runs."""
    runs = []
    common = dict(study.cfg_options)
    data_key = (_recipe(study, 'train'), _recipe(study, 'test'))
    for variant, spec in study.variants.items():
        config = variant_config(study, variant)
        options = {**common, **dict(spec.get('cfg_options') or {})}
        test_options = {**study.test_cfg_options, **dict(spec.get('test_cfg_options') or {})}
        try:
            # deep copies: merging consumes the options' `_delete_` keys
            cfg = load_config(config, cfg_options=copy.deepcopy({**options, study.seed_key: 0}))
            folder = osp.join(
                runs_dir,
                osp.splitext(osp.basename(config))[0] + '_' + _key(cfg.pretty_text, *data_key))
            test_cfg = load_config(config, cfg_options=copy.deepcopy({**options, **test_options}))
            test_tag = '_' + _key(test_cfg.pretty_text) if test_options else ''
            _check_teacher_checkpoint(cfg, variant)
            error = None
        except InputError as e:
            cfg, folder, error = None, osp.join(runs_dir, 'not_run', variant), str(e)
            test_tag = ''
        for seed in study.seeds:
            run = Run(
                variant, seed, osp.join(folder, f'seed{seed}'), error=error, test_tag=test_tag)
            if cfg is not None:
                cfg.merge_from_dict({study.seed_key: seed})
                os.makedirs(run.work_dir, exist_ok=True)
                run.config = run.test_config = run.path('config.py')
                cfg.dump(run.config)
                if test_tag:
                    test_cfg.merge_from_dict({study.seed_key: seed})
                    run.test_config = run.path(f'test_config{test_tag}.py')
                    test_cfg.dump(run.test_config)
            runs.append(run)
    return runs


def read_result(run: Run) -> Optional[dict]:
    if not osp.isfile(run.test_path('result', '.json')):
        return None
    with open(run.test_path('result', '.json')) as f:
        return json.load(f)


def _write_json(path: str, obj: dict) -> None:
    with open(path + '.tmp', 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(path + '.tmp', path)  # a reader never sees half a file


def _failure(log_path: str) -> str:
    """The tools' one-line ``error:`` message, else the log's last line (the exception)."""
    with open(log_path) as f:
        lines = [line.strip() for line in f if line.strip()]
    errors = [line for line in lines if line.startswith('error:')]
    last = errors[-1] if errors else (lines[-1] if lines else 'no output')
    return f'{last} (log: {log_path})'


def _step(tool: str, argv: List[str], log_path: str, threads: int) -> None:
    """A forked run step: ``tool`` as ``__main__`` with ``argv``, its output appended to
    ``log_path``; the process ends with the tool's exit status (1 on an exception)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    import torch
    torch.set_num_threads(threads)
    sys.argv = [tool, *argv]
    runpy.run_path(tool, run_name='__main__')


def _preload(runs: List[Run]) -> None:
    """Import what the tools build a runner with before forking, so that every run step
    starts warm instead of paying the imports (seconds per process)."""
    configs = {r.variant: r.config for r in runs}
    scopes = {Config.fromfile(c).default_scope for c in configs.values()}
    for scope in scopes:
        task = dict(mmdet='det', mmseg='seg')[scope]
        for name in (f'skd_det.{task}', *(f'{scope}.{m}' for m in IMPORTED_BY_RUNNER)):
            importlib.import_module(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def claim(run: Run) -> Optional[str]:
    """Take ``run`` for this runner by creating its ``running.json``; returns None when taken,
    else who holds it. A lock whose process is gone (same host) is taken over; one from
    another host (a shared file system) is trusted."""
    path = run.path('running.json')
    me = dict(pid=os.getpid(), host=socket.gethostname())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        try:
            with open(path) as f:
                holder = json.load(f)
        except (OSError, ValueError):
            return f'another runner; if none is running, remove {path}'
        if holder['host'] != me['host'] or _alive(holder['pid']):
            return f'pid {holder["pid"]} on {holder["host"]}'
        os.remove(path)  # left by a runner that died
        return claim(run)
    with os.fdopen(fd, 'w') as f:
        json.dump(me, f)
    return None


def release(run: Run) -> None:
    try:
        os.remove(run.path('running.json'))
    except FileNotFoundError:
        pass


class _Job:
    """A run going through its steps (train unless done, then test) in forked processes."""

    def __init__(self, run: Run, roots: Dict[str, str], tools_dir: str, threads: int):
        self.run, self.roots, self.tools_dir, self.threads = run, roots, tools_dir, threads
        self.began = time.time()
        self.train_s = None
        # trained before: test only (unless its checkpoint record was removed since)
        done = run.path('trained.json'), run.path('train', 'last_checkpoint')
        if all(osp.isfile(p) for p in done):
            with open(run.path('trained.json')) as f:
                self.train_s = json.load(f)['seconds']
        self.start('test' if self.train_s is not None else 'train')

    def start(self, step: str) -> None:
        train_dir = self.run.path('train')
        if step == 'train':
            # an interrupted training resumes from its last complete checkpoint
            resume = ['--resume'] if osp.isfile(osp.join(train_dir, 'last_checkpoint')) else []
            argv = [
                self.run.config, '--work-dir', train_dir, '--data-root', self.roots['train'],
                *resume
            ]
        else:
            with open(osp.join(train_dir, 'last_checkpoint')) as f:
                self.checkpoint = f.read().strip()
            argv = [
                self.run.test_config, self.checkpoint, '--work-dir',
                self.run.test_path('test'), '--data-root', self.roots['test']
            ]
        self.step, self.step_began = step, time.time()
        self.process = FORK.Process(
            target=_step,
            args=(osp.join(self.tools_dir, f'{step}.py'), argv, self._log(step), self.threads))
        self.process.start()

    def _log(self, step: str) -> str:
        return self.run.path('train.log') if step == 'train' else self.run.test_path('test', '.log')

    def advance(self) -> Optional[dict]:
        """After the step's process ended: start the test after the training, or return
        the result after the test (written to ``result.json``); RuntimeError if it failed."""
        self.process.join()
        seconds = time.time() - self.step_began
        if self.process.exitcode:
            log_path = self._log(self.step)
            raise RuntimeError(f'{self.step} failed: {_failure(log_path)}')
        if self.step == 'train':
            self.train_s = seconds
            _write_json(self.run.path('trained.json'), dict(seconds=seconds))
            self.start('test')
            return None
        result = dict(
            variant=self.run.variant,
            seed=self.run.seed,
            metrics=logs.final_metrics(logs.read_records(self.run.test_path('test'))),
            checkpoint=self.checkpoint,
            train_s=self.train_s,
            test_s=seconds)
        _write_json(self.run.test_path('result', '.json'), result)
        return result


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def run_all(runs: List[Run],
            roots: Dict[str, str],
            tools_dir: str,
            threads: int,
            jobs: int,
            log=print) -> Dict[str, dict]:
    """Run every run without a result, ``jobs`` at a time, each step (tools/train.py,
    tools/test.py) in a process forked from this one with ``threads`` threads. Prints each
    outcome with the runs done/left and the estimated time left. Returns the results by run
    name; a failed run gets ``error`` instead and no ``result.json`` (it runs again next
    time). A run another runner holds (:func:`claim`) is skipped."""
    results, todo = {}, []
    for run in runs:
        if run.error:
            log(f'error: {run.name}: {run.error}')
        elif read_result(run) is not None:
            results[run.name] = read_result(run)
        else:
            todo.append(run)
    skipped, total = len(results), len(results) + len(todo)
    log(f'{len(runs)} runs: {skipped} finished before (skipped), {len(todo)} to run, '
        f'{len(runs) - total} cannot run; {jobs} at a time, {threads} thread(s) each')
    if todo:
        _preload(todo)
    durations, failed, active = [], 0, {}
    sys.stdout.flush()  # a forked step must not repeat what this process has buffered
    while todo or active:
        while todo and len(active) < jobs:
            run = todo.pop(0)
            holder = claim(run)
            if holder:
                run.skipped = f'running in another runner ({holder})'
                log(f'skipped: {run.name}: {run.skipped}')
                total -= 1
                continue
            finished = read_result(run)
            if finished is not None:  # by another runner since this one planned
                release(run)
                results[run.name] = finished
                total -= 1
                continue
            job = _Job(run, roots, tools_dir, threads)
            active[job.process.sentinel] = job
        if not active:  # every run left was skipped
            break
        for sentinel in wait(list(active)):
            job = active.pop(sentinel)
            run = job.run
            try:
                result = job.advance()
            except RuntimeError as e:
                run.error, result = str(e), None
                failed += 1
                log(f'error: {run.name}: {e}')
            if result is None and run.error is None:  # trained; testing now
                active[job.process.sentinel] = job
                continue
            release(run)
            if result is not None:
                results[run.name] = result
            durations.append(time.time() - job.began)
            left = len(todo) + len(active)
            eta = sum(durations) / len(durations) * math.ceil(left / jobs)
            log(f'[{total - left}/{total}] {run.name}: '
                f'{"ok" if result else "FAILED"} in {_clock(durations[-1])}; {left} left '
                f'({failed} failed), about {_clock(eta)} to go')
            sys.stdout.flush()
    return results
