"""Misspelt keys anywhere in a config's components, found before anything is built.

Every dict of the config with a registered ``type`` is compared with the keyword arguments
its constructor accepts; a key it does not accept (``model.teacher.neck.out_chanels``) is
reported with its full key path and the closest argument names, instead of a
``TypeError: __init__() got an unexpected keyword argument`` after the model is half built.

Only certain faults are reported: a constructor that takes ``**kwargs`` is followed to its
base classes only when it hands them on untouched (``super().__init__(..., **kwargs)`` and no
other use); any other use of ``**kwargs``, or a constructor whose source cannot be read,
accepts every key. Dicts under ``*_cfg``/``cfg`` keys are built by mmcv's layer helpers,
which consume extra keys (``norm_cfg.requires_grad``), and ``init_cfg`` holds weight
initialisers: their own keys are not checked.
"""
import ast
import difflib
import importlib
import inspect
import textwrap
from typing import Any, Iterator, Optional, Set, Tuple

from mmengine.config import Config

from .config import InputError

# registries whose builders take a config dict; searched in this order for a type name
_REGISTRIES = ('MODELS', 'TASK_UTILS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'METRICS',
               'EVALUATOR', 'HOOKS', 'OPTIM_WRAPPERS', 'OPTIMIZERS', 'PARAM_SCHEDULERS',
               'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'FUNCTIONS')
# keys that mmengine's builders take out before calling the constructor
_BUILDER_KEYS = {
    'type',
    '_scope_',
    'priority',  # Runner.register_hook
    'constructor',
    'paramwise_cfg',  # build_optim_wrapper
    'convert_to_iter_based',  # Runner.build_param_scheduler
}


def _is_layer_cfg(key: str) -> bool:
    return key == 'cfg' or key.endswith('_cfg')


def _forwards_kwargs(init, varkw: str) -> Optional[bool]:
    """True when ``init`` only hands ``**varkw`` on to another ``__init__``; None when its
    source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(init))))
    except (OSError, TypeError, SyntaxError):
        return None
    forwarded, uses = 0, 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == varkw:
            uses += 1
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == '__init__'):
            forwarded += sum(
                1 for kw in node.keywords
                if kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id == varkw)
    return forwarded > 0 and forwarded == uses


def accepted_args(obj: Any) -> Optional[Set[str]]:
    """Keyword names a registered class (its ``__init__`` along the MRO, while ``**kwargs``
    are handed on) or function accepts; None when it accepts any keyword."""
    import torch.nn as nn
    if not inspect.isclass(obj):
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind == p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names: Set[str] = set()
    for cls in obj.__mro__:
        if cls in (object, nn.Module):  # nn.Module.__init__ rejects keyword arguments
            return names
        init = vars(cls).get('__init__')
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # self
        except (TypeError, ValueError):
            return None
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        varkw = next((p.name for p in params if p.kind == p.VAR_KEYWORD), None)
        if varkw is None:
            return names
        if not _forwards_kwargs(init, varkw):
            return None
    return names


def _components(node: Any, path: str, check: bool = True) -> Iterator[Tuple[str, dict]]:
    """``(key path, dict)`` for every dict with a ``type`` whose keys are checked."""
    if isinstance(node, dict):
        if check and 'type' in node:
            yield path, node
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _components(value, f'{path}.{key}' if path else str(key),
                                       not _is_layer_cfg(str(key)))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _components(value, f'{path}[{i}]', check)


def _resolve(registries, type_) -> Any:
    """The class/function ``type_`` names, or None if it is unknown or ambiguous."""
    if not isinstance(type_, str):
        return type_ if callable(type_) else None
    found = set()
    for registry in registries:
        try:
            obj = registry.get(type_)
        except Exception:  # a registry of another scope may fail to import its locations
            obj = None
        if obj is not None:
            found.add(obj)
    return found.pop() if len(found) == 1 else None


def check_component_args(cfg: Config) -> None:
    """Reject keys that the constructor of their component does not accept.

    Raises:
        InputError: ``<full key path>: <Type> takes no argument '<key>'`` with the closest
            argument names (or all of them when none is close).
    """
    scope = cfg.get('default_scope')
    if scope is None:  # not a runner config: nothing is built from it
        return
    module = importlib.import_module(f'{scope}.registry')
    registries = [getattr(module, n) for n in _REGISTRIES if hasattr(module, n)]
    for path, node in _components(cfg.to_dict(), ''):
        obj = _resolve(registries, node['type'])
        accepted = accepted_args(obj) if obj is not None else None
        if accepted is None:
            continue
        for key in node:
            if key in accepted or key in _BUILDER_KEYS:
                continue
            name = getattr(obj, '__name__', str(node['type']))
            close = difflib.get_close_matches(str(key), sorted(accepted), n=3, cutoff=0.6)
            hint = (f'did you mean {", ".join(close)}?'
                    if close else f'it takes {", ".join(sorted(accepted))}')
            raise InputError(f'{path}.{key}: {name} takes no argument {key!r}; {hint}')
