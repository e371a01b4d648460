"""Evaluate an exported student with plain mmdet/mmseg: the process never imports skd_det.

    python tools/misc/test_exported.py CONFIG WEIGHTS [--work-dir DIR] [--cfg-options k=v ...]

``CONFIG`` and ``WEIGHTS`` are what ``tools/model_converters/export_student.py`` wrote. The
config's test dataloader and evaluator run with mmengine's ``Runner.test()``, as mmdet's and
mmseg's ``tools/test.py`` do, and the metrics are printed. An export whose config still needs
skd_det (``custom_imports``: a student built from skd_det modules) is refused, and the run fails
if anything imported skd_det after all: the point is to show that the export stands alone.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test an exported student without skd_det (plain mmdet/mmseg)')
    parser.add_argument('config', help='exported config (export_student.py)')
    parser.add_argument('checkpoint', help='exported weights (export_student.py)')
    parser.add_argument(
        '--work-dir', help='logs and metrics (default: <config folder>/test_<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings, key=value')
    return parser.parse_args(argv)


def _imports_skd_det() -> bool:
    return any(m.split('.')[0] == 'skd_det' for m in sys.modules)


def main(argv=None) -> dict:
    args = parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'error: {path} does not exist')
    # custom_imports are checked before they are imported
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    custom = cfg.get('custom_imports') or {}
    imports = custom.get('imports', [])
    imports = [imports] if isinstance(imports, str) else imports
    if any(m.split('.')[0] == 'skd_det' for m in imports):
        sys.exit(f'error: {args.config}: custom_imports={imports} needs skd_det; this student '
                 'is not a plain mmdet/mmseg model: evaluate it with tools/test.py')
    if imports:
        import_modules_from_strings(**custom)
    name = osp.splitext(osp.basename(args.config))[0]
    cfg.work_dir = args.work_dir or osp.join(osp.dirname(osp.abspath(args.config)), f'test_{name}')
    cfg.load_from = args.checkpoint
    cfg.launcher = 'none'
    metrics = Runner.from_cfg(cfg).test()
    if _imports_skd_det():
        sys.exit('error: skd_det was imported while testing the export; it is not standalone')
    print('Metrics of the exported student (plain ' + cfg.get('default_scope', 'mmengine') +
          ', skd_det not imported):')
    for key, value in metrics.items():
        print(f'  {key}: {value}')
    return metrics


if __name__ == '__main__':
    main()
