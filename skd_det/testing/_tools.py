# Copyright (c) skd_det contributors.
"""The repository's scripts run in a fresh process or imported as modules, and a short
tools/train.py run with its per-iteration logs."""
import importlib.util
import json
import os
import os.path as osp
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from glob import glob

from ._models import REPO

# train on the val images of VOC2007 + VOC2012 of the synthetic VOCdevkit (a few images)
VOC_VAL_AS_TRAIN = [
    'train_dataloader.dataset.datasets.0.ann_file=VOC2007/ImageSets/Main/val.txt',
    'train_dataloader.dataset.datasets.1.ann_file=VOC2012/ImageSets/Main/val.txt'
]
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
LOG_EVERY_ITER = ['default_hooks.logger.interval=1', 'log_processor.window_size=1']
# two OpenMP threads on a shared 2-core machine can be 50x slower than one
ONE_THREAD = dict(OMP_NUM_THREADS='1')


def run_tool(args, env=None, timeout=900, cwd=REPO, unset=(), fresh=False):
    """``python *args`` (a repository script and its arguments) with this interpreter in
    ``cwd``, ``env`` added to the environment (one OpenMP thread unless it or the environment
    says otherwise) and the ``unset`` variables removed; a ``subprocess.CompletedProcess`` with
    the text of stdout and stderr.

    A script (``args[0]`` a ``.py`` file) run on one thread (``OMP_NUM_THREADS=1``) runs in a
    fork of this process, as a fresh interpreter would run it (``__main__``, its own
    ``sys.argv``, environment, working directory, streams and exit status) but without paying
    the imports again (seconds per call, three dozen trainings in the suite; the study runner
    forks its runs the same way). On more threads it could not: a fork of a process whose
    OpenMP (libgomp) pool has run keeps no pool threads, and the child's first parallel
    region waits for them forever (torch's DataLoader workers take one thread for the same
    reason). ``fresh=True`` (a script that must not find this process's modules imported, e.g.
    one that checks skd_det is not), ``-m``/``-c`` and anything else run in a fresh
    interpreter."""
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.setdefault('OMP_NUM_THREADS', '1')  # see ONE_THREAD
    full_env.update(PYTHONUNBUFFERED='1', **(env or {}))
    script = bool(args) and str(args[0]).endswith('.py')
    if script and not fresh and full_env.get('OMP_NUM_THREADS') == '1' and hasattr(os, 'fork'):
        return _run_forked([str(a) for a in args], full_env, timeout, cwd)
    return subprocess.run(
        [sys.executable] + list(args),
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)


# a fresh CPython's warning filters (non-debug build; `python -c "import warnings;
# print(warnings.filters)"`): pytest's own (setup.cfg's `filterwarnings`) apply around every
# test and collection, so none taken in this process would be a fresh interpreter's
_FRESH_WARNING_FILTERS = [('default', None, DeprecationWarning, '__main__', 0),
                          ('ignore', None, DeprecationWarning, None, 0),
                          ('ignore', None, PendingDeprecationWarning, None, 0),
                          ('ignore', None, ImportWarning, None, 0),
                          ('ignore', None, ResourceWarning, None, 0)]


def _run_forked(args, env, timeout, cwd):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child never returns
            os._exit(_forked_main(args, env, cwd, out.fileno(), err.fileno()))
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired([sys.executable] + args, timeout)
            time.sleep(0.05)
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode(errors='replace'))
    return subprocess.CompletedProcess([sys.executable] + args, os.waitstatus_to_exitcode(status),
                                       *texts)


def _forked_main(args, env, cwd, out_fd, err_fd):
    """The child's side of :func:`_run_forked`: the exit status of ``python *args``."""
    code = 1
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        sys.stdout = open(1, 'w', buffering=1, closefd=False)
        sys.stderr = open(2, 'w', buffering=1, closefd=False)
        sys.stdin = open(os.devnull)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        _fresh_state()
        script = osp.abspath(args[0])
        sys.argv = [args[0], *args[1:]]
        # a fresh interpreter's sys.path: the script's folder, then PYTHONPATH
        sys.path[0] = osp.dirname(script)
        sys.path[1:1] = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
        code = 0
        runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:  # a script's uncaught error: its traceback, status 1
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    return code


def _print_warning(message, category, filename, lineno, file=None, line=None):
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


def _fresh_state():
    """What a fresh interpreter would not have inherited from the tests run so far: pytest's
    warning recording and log handlers, mmengine's global instances (loggers bound to the
    captured streams, message hubs, the default scope); one thread; and the inherited objects
    frozen, so that the garbage collector does not walk the test process's heap, which a fresh
    interpreter would not have (every mmengine dataset build collects)."""
    import gc
    import logging

    import torch
    from mmengine.utils import ManagerMixin
    warnings.filters[:] = _FRESH_WARNING_FILTERS
    warnings.showwarning = _print_warning  # pytest records them around each test
    logging.root.handlers.clear()
    stack = [ManagerMixin]
    while stack:
        cls = stack.pop()
        cls._instance_dict.clear()
        stack.extend(cls.__subclasses__())
    torch.set_num_threads(1)  # run_tool forks only one-thread runs
    gc.freeze()


def load_tool(path):
    """Import a repository script as a module: ``load_tool('tools/train.py').main(...)``."""
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0] + '_tool', osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(config, data_root, work_dir, opts, extra=()):
    """tools/train.py ``config`` on ``data_root`` into ``work_dir`` (CPU, one thread) with
    ``--cfg-options *opts``; asserts it succeeds and returns ``work_dir``."""
    result = run_tool([
        'tools/train.py',
        str(config), '--data-root',
        str(data_root), '--work-dir',
        str(work_dir), '--device', 'cpu', *extra, '--cfg-options', *opts
    ],
                      env=ONE_THREAD)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work_dir


def scalars(work_dir):
    """The per-iteration training records (iteration -> record) the LoggerHook of the one
    run in ``work_dir`` wrote."""
    (path, ) = glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return {r['iter']: r for r in map(json.loads, f) if 'loss' in r}
