"""Checkpoint checks and crash-safe checkpoint writing for the tools.

Reading: every tool that takes a checkpoint calls :func:`load_checkpoint_file` (and
:func:`check_model_keys` once the model exists) first, so a truncated, empty, foreign or
non-checkpoint file stops the tool with one line naming the file and the fault instead of
PyTorch's ``PytorchStreamReader failed reading zip archive`` traceback, or mmengine's
``strict=False`` load silently keeping random weights for the keys it did not find.

Writing: :class:`AtomicLocalBackend` (file backend ``'local_atomic'``) writes a checkpoint to a
temporary name in the same folder, fsyncs it and renames it over the final name, so a crash or
a full disk never leaves a damaged file under a checkpoint's name; mmengine's CheckpointHook
writes ``last_checkpoint`` only after the save returned, so it never points at such a file.
"""
import errno
import glob
import os
import os.path as osp
import tempfile
import zipfile
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from mmengine.fileio import LocalBackend, register_backend

from .config import InputError
from .safe_load import UnsafeCheckpointError, load_checkpoint

ZIP_MAGIC = b'PK\x03\x04'
_UMASK = os.umask(0)
os.umask(_UMASK)


class TrainingFault(RuntimeError):
    """A fault that stops a training run (non-finite loss, failed checkpoint save); the tools
    print it as one line."""


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f'{type(e).__name__}: {text[0]}' if text else type(e).__name__


def load_checkpoint_file(path: str) -> Tuple[dict, dict]:
    """Load a checkpoint for inspection; ``(checkpoint, state dict)``.

    Zip checkpoints (``torch.save``'s format) are memory-mapped, so the check reads keys and
    shapes without reading the weights. A ``'module.'`` prefix (DDP) is stripped from the keys,
    as mmengine's ``load_checkpoint`` does.

    Loaded without running code (:func:`~skd_det.utils.safe_load.load_checkpoint`).

    Raises:
        InputError: the file is missing, empty, truncated, not a PyTorch file, or holds no
            state dict; :class:`UnsafeCheckpointError` when it names a global a weights-only
            load refuses.
    """
    if not osp.isfile(path):
        raise InputError(f'checkpoint {path} does not exist')
    size = osp.getsize(path)
    if size == 0:
        raise InputError(f'checkpoint {path} is empty (0 bytes): its save was interrupted')
    with open(path, 'rb') as f:
        head = f.read(4)
    is_zip = zipfile.is_zipfile(path)
    if head == ZIP_MAGIC and not is_zip:
        raise InputError(f'checkpoint {path} is truncated ({size} bytes, the end of its zip '
                         'archive is missing): its save was interrupted')
    try:
        ckpt = load_checkpoint(path, mmap=is_zip)
    except UnsafeCheckpointError:
        raise
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        what = 'cannot be read' if is_zip else 'is not a PyTorch checkpoint'
        raise InputError(f'checkpoint {path} {what} ({_first_line(e)})') from None
    if not isinstance(ckpt, dict):
        raise InputError(f'{path} is not a checkpoint: it holds a {type(ckpt).__name__}, not '
                         'a dict of weights')
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f'{path} is not a model checkpoint: it has no state_dict of tensors '
                         f'(top-level keys: {sorted(map(str, ckpt))[:5]})')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    return ckpt, state


def check_model_keys(model: torch.nn.Module, state: dict, path: str) -> None:
    """Require ``state`` to hold exactly ``model``'s weights with their shapes.

    Raises:
        InputError: naming the number and the first of the missing and unexpected keys, or
            the first shape mismatch.
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    name = type(model).__name__
    if missing or unexpected:
        parts = [
            f'{len(missing)} of the model\'s {len(expected)} weights missing' +
            (f' (first: {missing[0]})' if missing else '')
        ]
        parts.append(f'{len(unexpected)} unexpected' +
                     (f' (first: {unexpected[0]})' if unexpected else ''))
        raise InputError(f'checkpoint {path} is not a checkpoint of this config\'s model '
                         f'({name}): {", ".join(parts)}')
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise InputError(f'checkpoint {path} is not a checkpoint of this config\'s model '
                             f'({name}): {key} has shape {tuple(state[key].shape)} in the '
                             f'checkpoint, {tuple(value.shape)} in the model')


def check_checkpoint(path: str, model: Optional[torch.nn.Module] = None) -> None:
    """:func:`load_checkpoint_file`, then :func:`check_model_keys` when a model is given."""
    _, state = load_checkpoint_file(path)
    if model is not None:
        check_model_keys(model, state, path)


def _fault(path: str) -> Optional[str]:
    try:
        load_checkpoint_file(path)
    except InputError as e:
        return str(e)
    return None


def complete_checkpoints(folder: str, exclude: Iterable[str] = ()) -> Iterable[str]:
    """The readable ``*.pth`` of ``folder``, newest first (a generator: stops loading at the
    first one the caller takes)."""
    skip = {osp.abspath(p) for p in exclude}
    paths = [p for p in glob.glob(osp.join(folder, '*.pth')) if osp.abspath(p) not in skip]
    for path in sorted(paths, key=osp.getmtime, reverse=True):
        if _fault(path) is None:
            yield path


def last_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` would continue from, if it is complete, else the newest
    complete ``*.pth`` of the work dir; None when there is none."""
    latest = latest_checkpoint(work_dir)
    if latest and _fault(latest) is None:
        return latest
    return next(iter(complete_checkpoints(work_dir)), None)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``<work_dir>/last_checkpoint`` names (unchecked); None without that file."""
    save_file = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(save_file):
        return None
    with open(save_file) as f:
        return f.read().strip()


def resolve_resume(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` without a path continues from: the one ``last_checkpoint``
    names, checked. None when the work dir holds no checkpoint (a new run).

    Raises:
        InputError: the latest checkpoint is damaged or missing, or checkpoints exist without
            ``last_checkpoint``; the message names the complete one to pass to
            ``--resume PATH``.
    """
    save_file = osp.join(work_dir, 'last_checkpoint')
    latest = latest_checkpoint(work_dir)
    if latest is None:
        if not glob.glob(osp.join(work_dir, '*.pth')):
            return None
        fault = f'{work_dir} has checkpoints but no last_checkpoint file'
    elif not latest:
        fault = f'{save_file} is empty'
    else:
        fault = _fault(latest)
        if fault is None:
            return latest
    previous = next(iter(complete_checkpoints(work_dir, exclude=[latest] if latest else [])), None)
    hint = (f'the newest complete one is {previous}: resume from it with --resume {previous}'
            if previous else f'no complete checkpoint is left in {work_dir}: train without '
            '--resume (or with another --work-dir) to start over')
    raise InputError(f'--resume: the latest checkpoint is unusable ({fault}); {hint}')


@register_backend('local_atomic')
class AtomicLocalBackend(LocalBackend):
    """Local file backend whose ``put`` replaces a file only with a complete copy.

    The bytes go to a temporary file in the destination folder (the same file system, so the
    rename is atomic), are flushed and fsynced, then ``os.replace`` puts them under the final
    name and the folder is fsynced. A failed write (full disk, I/O error) removes the
    temporary file and raises :class:`TrainingFault`; a file already under the final name
    (e.g. ``best_*.pth``) and every other checkpoint stay as they were.

    mmengine's ``CheckpointHook`` removes the oldest kept checkpoint *before* it writes the
    new one (``_save_checkpoint_with_step``), so with ``max_keep_ckpts=1`` a failed write
    would leave none: ``remove`` only marks a file, and the next complete ``put`` into the
    same folder deletes it. The marks are class-level because the hook and
    ``Runner.save_checkpoint`` each build their own backend instance.

    Use it through ``default_hooks.checkpoint.backend_args = dict(backend='local_atomic')``
    (``tools/train.py`` sets it).
    """

    _removals_after_next_put: Dict[str, List[str]] = {}

    def remove(self, filepath) -> None:
        filepath = osp.abspath(str(filepath))
        self._removals_after_next_put.setdefault(osp.dirname(filepath), []).append(filepath)

    def put(self, obj: bytes, filepath) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as f:
                os.fchmod(f.fileno(), 0o666 & ~_UMASK)  # mkstemp's 0600 -> what open() gives
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except OSError as e:
            if osp.exists(tmp):
                os.remove(tmp)
            self._removals_after_next_put.pop(folder, None)  # the previous ones stay
            reason = e.strerror or str(e)
            if e.errno is not None and e.errno in errno.errorcode:
                reason = f'{errno.errorcode[e.errno]}, {reason}'
            raise TrainingFault(f'could not write checkpoint {filepath} ({reason}); nothing '
                                'was written under that name and the earlier checkpoints are '
                                'untouched') from None
        _fsync_dir(folder)
        for path in self._removals_after_next_put.pop(folder, []):
            if path != osp.abspath(filepath) and osp.isfile(path):
                os.remove(path)


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (POSIX; folders cannot be opened on Windows)."""
    if not hasattr(os, 'O_DIRECTORY'):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
