"""Export the student of a self-distillation model as a plain mmdet/mmseg model.

    python tools/model_converters/export_student.py CONFIG CHECKPOINT OUT_DIR [--name NAME]
                                                    [--exit K]

``CONFIG`` is a ``SelfDistillDetector``/``SelfDistillSegmentor`` config and ``CHECKPOINT`` one of
its training checkpoints. Writes

- ``OUT_DIR/NAME.py``: the config with the student's model at top level (no wrapper, no teacher)
  and everything else (datasets, evaluators, runtime) kept; skd_det's training-only hooks are
  dropped, and ``custom_imports`` of skd_det only stays if the student itself uses skd_det modules;
- ``OUT_DIR/NAME.pth``: ``{'state_dict': <the student.* weights, prefix stripped>, 'meta':
  {'dataset_meta': ..., 'source': ...}}``, plain tensors and Python values only, so
  ``torch.load(weights_only=True)`` (what mmdet's ``init_detector`` and mmseg's ``init_model``
  use on torch >= 2.6) reads it.

NAME defaults to ``<config name>_student``. Before finishing, the student is built from the
written config and loads the written weights strictly.

``--exit K`` exports the shallow exit ``K`` of a teacher part with exits (BYOT) instead: a plain
model of the student's type whose backbone stops after stage ``K`` (the student's weights) and
whose neck/head are that exit's (the ``teacher.`` weights), i.e. a faster early-exit model;
NAME defaults to ``<config name>_exit<K>``.
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Any, Set

import torch
from mmengine.config import Config

from skd_det.models.distillers.base import STUDENT_PREFIX, student_state_dict
from skd_det.utils import InputError, add_trust_checkpoint_argument, trust_checkpoints
from skd_det.utils.checkpoint import check_model_keys, load_checkpoint_file

WRAPPERS = ('SelfDistillDetector', 'SelfDistillSegmentor')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export the student of a self-distillation checkpoint')
    parser.add_argument('config', help='SelfDistillDetector/SelfDistillSegmentor config')
    parser.add_argument('checkpoint', help='checkpoint of that model')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('out_dir', help='folder for NAME.py and NAME.pth')
    parser.add_argument('--name', help='output file stem (default: <config name>_student)')
    parser.add_argument(
        '--exit',
        type=int,
        metavar='K',
        help='export the shallow exit K (BYOT) instead of the student')
    return parser.parse_args(argv)


def skd_det_types() -> Set[str]:
    """Names that skd_det registered, in any registry of any scope."""
    import mmengine.registry as registry
    stack = [r for r in vars(registry).values() if isinstance(r, registry.Registry)]
    names = set()
    while stack:
        reg = stack.pop()
        stack.extend(reg.children.values())
        names.update(name for name, obj in reg.module_dict.items()
                     if getattr(obj, '__module__', '').startswith('skd_det'))
    return names


def _types(node: Any):
    """Every ``type`` in a nested config, as a bare name."""
    if isinstance(node, dict):
        t = node.get('type')
        if isinstance(t, str):
            yield t.split('.')[-1]
        elif t is not None:
            yield getattr(t, '__name__', '')
        for value in node.values():
            yield from _types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _types(value)


def student_config(cfg: Config) -> Config:
    """The config of the student alone (see the module docstring)."""
    model_type = cfg.model.get('type')
    if model_type not in WRAPPERS:
        raise InputError(f'model.type is {model_type!r}; export_student.py exports the student '
                         f'of a {" or ".join(WRAPPERS)}')
    out = cfg.to_dict()
    out['model'] = out['model']['student']
    ours = skd_det_types()
    hooks = [h for h in out.get('custom_hooks', []) if h.get('type') not in ours]
    if hooks:
        out['custom_hooks'] = hooks
    else:
        out.pop('custom_hooks', None)
    if 'custom_imports' in out and not ours.intersection(_types(out['model'])):
        imports = [
            m for m in out['custom_imports'].get('imports', [])
            if m != 'skd_det' and not m.startswith('skd_det.')
        ]
        if imports:
            out['custom_imports'] = dict(out['custom_imports'], imports=imports)
        else:
            del out['custom_imports']
    return Config(out)


def _plain(obj: Any) -> Any:
    """``obj`` with only the types ``torch.load(weights_only=True)`` accepts."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, 'tolist'):  # numpy scalars and arrays
        return obj.tolist()
    return str(obj)


def student_checkpoint(path: str) -> dict:
    # a weights-only load with mmengine's message-hub types allowed (skd_det.utils.safe_load);
    # it also checks that the file is a complete checkpoint
    ckpt, state = load_checkpoint_file(path)
    weights = student_state_dict(state)
    if not weights:
        raise InputError(f'{path} has no {STUDENT_PREFIX}* weights: not a checkpoint of a '
                         f'{" or ".join(WRAPPERS)}')
    meta = dict(source=osp.basename(path))
    dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
    if dataset_meta is not None:
        meta['dataset_meta'] = _plain(dataset_meta)
    return dict(state_dict=weights, meta=meta)


def exit_export(wrapper_cfg: Config, stage: int, path: str, meta: dict):
    """The plain config and checkpoint of exit ``stage`` of the wrapper config ``wrapper_cfg``
    and its checkpoint ``path`` (``meta``: the export's, see :func:`student_checkpoint`)."""
    wrapper = build_student(wrapper_cfg)
    teacher = wrapper.teacher
    if not hasattr(teacher, 'exit_model'):
        raise InputError(f'--exit {stage}: the teacher part {type(teacher).__name__} has no '
                         'exits (BYOTDetTeacher/BYOTSegTeacher have)')
    try:
        model = teacher.exit_model(stage)
    except ValueError as e:
        raise InputError(f'--exit {stage}: {e}')
    cfg = student_config(wrapper_cfg)
    cfg.model = model
    prefixes = teacher.exit_prefixes(stage)
    state = load_checkpoint_file(path)[1]
    check_model_keys(wrapper, state, path)
    weights = OrderedDict()
    for key in build_student(cfg).state_dict():
        prefix = next(p for p in prefixes if key.startswith(p))
        weights[key] = state[prefixes[prefix] + key[len(prefix):]]
    return cfg, dict(state_dict=weights, meta=meta)


def build_student(cfg: Config) -> torch.nn.Module:
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return MODELS.build(cfg.model)


def verify(cfg_path: str, ckpt_path: str) -> None:
    """Build the student from the written config and load the written weights strictly, the
    way plain mmdet/mmseg will (weights-only load, no skd_det registration needed)."""
    model = build_student(Config.fromfile(cfg_path))
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    model.load_state_dict(ckpt['state_dict'], strict=True)


def main(argv=None):
    args = parse_args(argv)
    trust_checkpoints(args, args.checkpoint)
    try:
        if not osp.isfile(args.config):
            raise InputError(f'config file {args.config} does not exist')
        wrapper_cfg = Config.fromfile(args.config)
        cfg = student_config(wrapper_cfg)
        ckpt = student_checkpoint(args.checkpoint)
        check_model_keys(
            build_student(cfg), ckpt['state_dict'],
            f'{args.checkpoint} (its {STUDENT_PREFIX}* part)')
        if args.exit is not None:
            cfg, ckpt = exit_export(wrapper_cfg, args.exit, args.checkpoint, ckpt['meta'])
    except InputError as e:
        sys.exit(f'error: {e}')
    suffix = '_student' if args.exit is None else f'_exit{args.exit}'
    name = args.name or osp.splitext(osp.basename(args.config))[0] + suffix
    os.makedirs(args.out_dir, exist_ok=True)
    cfg_path = osp.join(args.out_dir, name + '.py')
    ckpt_path = osp.join(args.out_dir, name + '.pth')
    cfg.dump(cfg_path)
    torch.save(ckpt, ckpt_path)
    verify(cfg_path, ckpt_path)
    what = 'student' if args.exit is None else f'exit {args.exit}'
    print(f'{what} config:  {cfg_path}\n{what} weights: {ckpt_path} '
          f'({len(ckpt["state_dict"])} tensors)')


if __name__ == '__main__':
    main()
