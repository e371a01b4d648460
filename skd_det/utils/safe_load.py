"""Checkpoint loading that never runs code.

A ``.pth`` file is a pickle, and a plain pickle load runs whatever callable the file names (a
``__reduce__`` returning ``os.system`` is enough). torch's restricted unpickler
(``torch.load(weights_only=True)``) builds only tensors, containers and the globals allowed to
it. Every checkpoint skd_det reads goes through :func:`load_checkpoint`: a weights-only load with
:data:`CHECKPOINT_GLOBALS` (exactly the types mmengine's training checkpoints hold besides
tensors and containers) allowed for that load alone (``torch.serialization.safe_globals``), not
process-wide and never through ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

Importing this module (every tool and both plugin entries, ``skd_det.det`` / ``skd_det.seg``,
do) replaces mmengine's ``CheckpointLoader`` schemes with these loads, so mmengine's Runner
(``resume``, ``load_from``), ``Pretrained`` inits and runs started by mmdet's/mmseg's own
``tools/train.py`` with our configs load the same way. mmengine's own loaders are not kept: its
local loader uses torch's default (weights-only, but without the allow-list, so its own
checkpoints fail) and its URL loaders go through ``torch.hub.load_state_dict_from_url``, whose
default is a full, code-running load.

URLs (``http(s)://`` and the ``torchvision://``, ``open-mmlab://``, ``mmcls://`` names that
resolve to them) are downloaded to torch's hub cache as mmengine does; a file name in the
model-zoo form ``name-<sha256 prefix>.pth`` is checked against that prefix, on download and
each time the cached file is used.

A legacy file the user trusts can still be fully unpickled: :func:`trust_checkpoint` (the tools'
``--trust-checkpoint``) or ``trust=True`` (a teacher's ``trust_checkpoint=True``). Refusals
name the global at fault, the file and that opt-in.
"""
import _codecs
import hashlib
import io
import os
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Optional, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import (CheckpointLoader, _get_mmengine_home,
                                        _process_mmcls_checkpoint, get_deprecated_model_names,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models)
from torch.hub import download_url_to_file, get_dir

from .config import InputError

# Besides tensors and containers, what mmengine's checkpoints hold: the message hub's
# HistoryBuffer logs (numpy arrays) and runtime info (numpy scalars); nothing here runs code
# it is given (``_reconstruct`` only allocates an array of a dtype). numpy 1.x wrote its
# functions under ``numpy.core``: those names are aliases of the same functions.
_NUMPY_FUNCTIONS = [np._core.multiarray._reconstruct, np._core.multiarray.scalar]


def _history_buffer_statistic(owner, name: str):
    """``getattr`` as a pickled HistoryBuffer uses it (its state holds its statistics methods,
    pickled as ``getattr(HistoryBuffer, 'mean')``), and for nothing else: a general getattr
    would let a pickle walk from an allowed class to any function."""
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: GLOBAL builtins.getattr on {getattr(owner, "__name__", owner)!r}'
        f', {name!r} (only HistoryBuffer statistics are allowed)')


_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
CHECKPOINT_GLOBALS = [
    HistoryBuffer, np.ndarray, np.dtype, (_history_buffer_statistic, 'builtins.getattr')
] + _NUMPY_FUNCTIONS + [
    (f, f'numpy.core.multiarray.{f.__name__}') for f in _NUMPY_FUNCTIONS
] + [type(np.dtype(c)) for c in np.typecodes['All']]  # numpy >= 1.25 pickles dtypes by class

TRUST_HINT = ('--trust-checkpoint (tools) or trust_checkpoint=True (a teacher config) loads it '
              'in full, running the code it names: only for a file whose source you trust')

_trusted = set()
# the model-zoo form name-<first 8+ hex digits of the SHA-256>.pth (torch.hub's convention; a
# shorter group such as resnet-50.pth is a name, not a hash)
_HASHED_NAME = re.compile(r'-([0-9a-f]{8,64})\.[^.]+$')


class UnsafeCheckpointError(InputError):
    """A checkpoint that cannot be loaded without running code it names."""


def trust_checkpoint(source: str) -> None:
    """Load ``source`` (a path or URL) in full from now on in this process: the user's
    explicit opt-in for a legacy checkpoint whose origin they trust."""
    _trusted.add(_key(source))


def _key(source: str) -> str:
    return source if '://' in source else osp.abspath(osp.expanduser(source))


def load_checkpoint(source,
                    map_location='cpu',
                    mmap: bool = False,
                    trust: bool = False,
                    name: Optional[str] = None):
    """``torch.load`` of a checkpoint file (path or file object) without running code.

    Args:
        source: The file path or a binary file object.
        map_location: As for ``torch.load``.
        mmap: Memory-map a zip checkpoint (reads keys and shapes without the weights).
        trust: Unpickle in full (the user's opt-in for a trusted legacy file).
        name: What to call the file in errors (default: ``source``).

    Raises:
        UnsafeCheckpointError: the file names a global outside :data:`CHECKPOINT_GLOBALS`.
        pickle.UnpicklingError: the file is not a weights pickle (damaged, or not a
            checkpoint), with torch's reason.
    """
    name = name or str(source)
    extra = dict(mmap=True) if mmap else {}
    if trust or (isinstance(source, str) and _key(source) in _trusted):
        return torch.load(source, map_location=map_location, weights_only=False, **extra)
    try:
        with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
            return torch.load(source, map_location=map_location, weights_only=True, **extra)
    except pickle.UnpicklingError as e:
        message = str(e)
    found = re.search(r'GLOBAL (\S+)', message)
    if found is None:  # damaged, or not a checkpoint: torch's reason, without its advice
        reason = re.search(r'WeightsUnpickler error:\s*(.*)', message)
        raise pickle.UnpicklingError(reason.group(1) if reason else message.splitlines()[0])
    raise UnsafeCheckpointError(f'{_refusal(f"checkpoint {name}", found.group(1))}. {TRUST_HINT}')


def _refusal(what: str, qualified: str) -> str:
    return (f'{what} refused: loading it would run code (the global {qualified}, which a '
            'weights file does not need); nothing was run')


def _storage_from_bytes(data: bytes):
    """``torch.storage._load_from_bytes`` (how a plain pickle holds a tensor's storage),
    weights-only: torch's own unpickles the bytes in full."""
    return torch.load(io.BytesIO(data), weights_only=True)


def _qualified(entry) -> Tuple[str, object]:
    obj, name = entry if isinstance(entry, tuple) else (entry, None)
    return name or f'{obj.__module__}.{obj.__qualname__}', obj


# a plain pickle of results (tools/test.py --out): CPU tensors, numpy and containers (protocol
# 2 pickles bytes as _codecs.encode(str, 'latin1'))
_PICKLE_GLOBALS = dict(
    map(_qualified,
        CHECKPOINT_GLOBALS + [torch._utils._rebuild_tensor_v2, OrderedDict, _codecs.encode]),
    **{'torch.storage._load_from_bytes': _storage_from_bytes})


class _DataUnpickler(pickle.Unpickler):
    """pickle's documented way to restrict globals (``find_class``), to the data types above."""

    def find_class(self, module: str, name: str):
        qualified = f'{module}.{name}'
        if qualified not in _PICKLE_GLOBALS:
            raise UnsafeCheckpointError(_refusal(self.source, qualified))
        return _PICKLE_GLOBALS[qualified]


def load_pickle(path: str):
    """A plain pickle of data (tools/test.py ``--out`` results) without running code.

    Raises:
        UnsafeCheckpointError: the file names a global outside tensors, numpy and containers.
    """
    with open(path, 'rb') as f:
        unpickler = _DataUnpickler(f)
        unpickler.source = path
        return unpickler.load()


def file_sha256(path: str) -> str:
    """The hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def download_checkpoint(url: str, model_dir: Optional[str] = None) -> str:
    """Download ``url`` into ``model_dir`` (default: torch's hub ``checkpoints`` folder, as
    mmengine's ``load_from_http``) unless it is there; the local path.

    Raises:
        InputError: the file name carries a SHA-256 prefix (``name-<hex>.pth``) that the
            downloaded or cached file does not match; a mismatched download is not kept.
    """
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    filename = osp.basename(urlparse(url).path)
    cached = osp.join(model_dir, filename)
    found = _HASHED_NAME.search(filename)
    prefix = found.group(1) if found else ''
    if not osp.exists(cached):
        os.makedirs(model_dir, exist_ok=True)
        try:
            # writes to a temporary name and moves it to ``cached`` only when the hash fits
            download_url_to_file(url, cached, prefix or None, progress=False)
        except RuntimeError as e:
            if 'invalid hash value' not in str(e):
                raise
            raise InputError(f'{url}: the download does not match the SHA-256 prefix in its '
                             f'name ({e}); it was not kept or used') from None
    elif prefix and not file_sha256(cached).startswith(prefix):
        raise InputError(f'{cached} (the cached download of {url}) does not match the SHA-256 '
                         f'prefix {prefix} in its name: it is not used; delete it to download '
                         'again')
    return cached


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename, map_location=None):
    """mmengine's local scheme, loaded without running code."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint(filename, map_location)


@CheckpointLoader.register_scheme(prefixes=('http://', 'https://'), force=True)
def load_from_http(url, map_location=None, model_dir=None):
    """mmengine's URL scheme: rank 0 downloads (hash-checked) first, the others then read its
    file, as mmengine's ``load_from_http``."""
    rank, world_size = get_dist_info()
    if rank == 0:
        path = download_checkpoint(url, model_dir)
    if world_size > 1:
        barrier()
        if rank > 0:
            path = download_checkpoint(url, model_dir)
    return load_checkpoint(path, map_location, trust=_key(url) in _trusted, name=f'{url} ({path})')


@CheckpointLoader.register_scheme(prefixes=('modelzoo://', 'torchvision://'), force=True)
def load_from_torchvision(filename, map_location=None):
    """torchvision's model-zoo names, resolved as mmengine does, then :func:`load_from_http`."""
    return load_from_http(get_torchvision_models()[filename.split('://', 1)[1]], map_location)


@CheckpointLoader.register_scheme(prefixes=('open-mmlab://', 'openmmlab://'), force=True)
def load_from_openmmlab(filename, map_location=None):
    """OpenMMLab's model-zoo names (deprecated ones mapped), as mmengine resolves them."""
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(_get_mmengine_home(), url), map_location)


@CheckpointLoader.register_scheme(prefixes='mmcls://', force=True)
def load_from_mmcls(filename, map_location=None):
    """mmcls model-zoo names, with mmengine's key conversion."""
    checkpoint = load_from_http(get_mmcls_models()[filename[len('mmcls://'):]], map_location)
    return _process_mmcls_checkpoint(checkpoint)


@CheckpointLoader.register_scheme(prefixes=[r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], force=True)
def load_from_ceph(filename, map_location=None, backend='petrel'):
    """mmengine's object-storage scheme, loaded without running code."""
    file_backend = get_file_backend(filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return load_checkpoint(buffer, map_location, name=filename)
