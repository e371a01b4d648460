"""``make demo``: the user's journey on the product, within a time budget.

    python tools/misc/demo.py [--config CFG] [--data DIR] [--work-dir DIR] [--epochs N]
                              [--budget-min MIN]

1. writes the synthetic VOC (``DATA``'s size) to ``DIR`` unless it is already there
   (``DIR/.complete`` names its recipe);
2. trains ``CFG`` (default: FRSKD RetinaNet R18, the README's headline method) for ``N`` of its
   epochs with ``tools/train.py``, its epoch-based schedulers shortened to end at ``N``, and
   a :class:`~skd_det.engine.hooks.TimeBudgetHook` that stops at an epoch end when the next
   epoch would leave too little of ``MIN`` minutes for the steps after training (on slower
   machines: the schedule is then *not* shortened further, and the demo says so);
3. exports the student with ``tools/model_converters/export_student.py``;
4. evaluates the exported student with ``tools/misc/test_exported.py``, a process that only
   imports mmengine/mmdet (it fails if skd_det gets imported);
5. prints its mAP and where the checkpoint, the exported config and weights and the logs are.
"""
import argparse
import glob
import math
import os
import os.path as osp
import re
import subprocess
import sys
import time

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# minutes kept after the training loop: its start-up (imports, model, data), the export and
# the evaluation of the student (under a minute together on 2 cores)
RESERVE_MIN = 1.5
# the demo's data: 100 train + 25 val images per VOC year (250 images of VOC07+12 trainval,
# 63 steps of 4 an epoch) and 25 VOC2007 test images, so that the whole schedule fits the budget
# on a slow 2-core machine too (the synthetic default, 200 + 50, took 2.7-2.9 min an epoch on
# one)
DATA = dict(num_train=100, num_val=25)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--config',
        default='configs/frskd/frskd_retinanet_r18_fpn_cpu_voc0712.py',
        help='an epoch-based SelfDistillDetector config')
    parser.add_argument('--data', default='data/synthetic/voc', help='synthetic VOC folder')
    parser.add_argument('--work-dir', default='work_dirs/demo', help='all outputs')
    parser.add_argument(
        '--epochs', type=int, help="epochs to train (default: the config's max_epochs)")
    parser.add_argument(
        '--budget-min',
        type=float,
        default=12,
        help='minutes for the whole demo; training stops early to keep it')
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs must be >= 1, got {args.epochs}')
    if args.budget_min <= RESERVE_MIN:
        parser.error(f'--budget-min must be > {RESERVE_MIN} (the minutes kept for the export '
                     f'and the evaluation), got {args.budget_min:g}')
    return args


def _run(args, capture=False):
    """Run a repository script with this interpreter, its output shown as it comes."""
    cmd = [sys.executable, *args]
    print('+ ' + ' '.join(cmd[1:]), flush=True)
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    if proc.wait():
        sys.exit(f'error: {args[0]} failed (exit status {proc.returncode}); see above')
    return ''.join(lines)


def train_config(args, budget_min: float) -> str:
    """The config to train: ``--epochs`` of ``--config`` with its epoch-based schedulers ending
    there, no validation (the exported student is evaluated instead) and the time budget."""
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    if cfg.train_cfg.get('type', 'EpochBasedTrainLoop') != 'EpochBasedTrainLoop' or \
            'max_epochs' not in cfg.train_cfg:
        sys.exit(f'error: {args.config}: train_cfg is not epoch-based ({cfg.train_cfg})')
    full, epochs = cfg.train_cfg.max_epochs, args.epochs or cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    for scheduler in cfg.get('param_scheduler') or []:
        if scheduler.get('by_epoch', True) and scheduler.get('end') == full:
            scheduler.end = epochs
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.custom_hooks = list(cfg.get('custom_hooks')
                            or []) + [dict(type='TimeBudgetHook', budget_min=round(budget_min, 2))]
    os.makedirs(args.work_dir, exist_ok=True)
    path = osp.join(args.work_dir, osp.basename(args.config))
    cfg.dump(path)
    return path


def _read(path: str) -> str:
    if not osp.isfile(path):
        return ''
    with open(path) as f:
        return f.read()


def _trained_epoch(checkpoint: str) -> int:
    match = re.search(r'epoch_(\d+)\.pth$', checkpoint)
    return int(match.group(1)) if match else 0


def main():
    args = parse_args()
    start = time.monotonic()

    def minutes():
        return (time.monotonic() - start) / 60

    recipe = [
        '--num-train',
        str(DATA['num_train']), '--num-val',
        str(DATA['num_val']), '--seed', '0', '--difficulty', 'easy'
    ]
    marker = osp.join(args.data, '.complete')
    if _read(marker) != ' '.join(recipe):
        _run(['tools/misc/make_synthetic_dataset.py', 'voc', args.data, *recipe, '--overwrite'])
        with open(marker, 'w') as f:
            f.write(' '.join(recipe))
    else:
        print(f'synthetic VOC already in {args.data}')

    budget = args.budget_min - minutes() - RESERVE_MIN
    config = train_config(args, max(budget, 0.1))
    epochs = Config.fromfile(config, import_custom_modules=False).train_cfg.max_epochs
    train_start = minutes()
    _run([
        'tools/train.py', config, '--data-root',
        osp.join(args.data, 'VOCdevkit'), '--work-dir', args.work_dir
    ])
    train_min = minutes() - train_start
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    done = _trained_epoch(checkpoint)
    stopped = 0 < done < epochs
    if stopped:
        need = math.ceil(train_start + train_min / done * epochs + RESERVE_MIN)
        print(f'\nstopped after {done} of {epochs} epochs: time budget {args.budget_min:g} min '
              f'reached; run with DEMO_BUDGET_MIN={need} (--budget-min {need}) for the full '
              'schedule. The learning-rate schedule was not shortened, so this model did not '
              'reach the end of its cosine decay (its mAP is lower than the full run\'s).\n')

    student_dir = osp.join(args.work_dir, 'student')
    _run(['tools/model_converters/export_student.py', config, checkpoint, student_dir])
    name = osp.splitext(osp.basename(config))[0] + '_student'
    exported_cfg = osp.join(student_dir, f'{name}.py')
    exported_ckpt = osp.join(student_dir, f'{name}.pth')
    test_dir = osp.join(student_dir, 'test')
    out = _run(['tools/misc/test_exported.py', exported_cfg, exported_ckpt, '--work-dir', test_dir])
    found = re.findall(r'pascal_voc/mAP: ([0-9.]+)', out)

    train_logs = sorted(glob.glob(osp.join(args.work_dir, '*', '*.log')))
    test_logs = sorted(glob.glob(osp.join(test_dir, '*', '*.log')))
    print(f'\nmake demo done in {minutes():.1f} min (budget {args.budget_min:g} min)')
    print(f'  trained {osp.basename(args.config)} for {done} of {epochs} epochs '
          f'({train_min:.1f} min) on {args.data}' +
          (' (stopped by the time budget)' if stopped else ''))
    if found:
        print(f'  exported student, plain mmdet without skd_det, VOC2007 test: '
              f'mAP {float(found[-1]):.3f}')
    print('  files:')
    for what, path in [('training checkpoint', checkpoint), ('training config', config),
                       ('training log', train_logs[-1] if train_logs else args.work_dir),
                       ('exported config', exported_cfg), ('exported weights', exported_ckpt),
                       ('evaluation log', test_logs[-1] if test_logs else test_dir)]:
        print(f'    {what:20s} {osp.relpath(path, REPO) if osp.isabs(path) else path}')
    print('  use the student anywhere mmdet is installed: mmdet.apis.init_detector(exported '
          'config, exported weights)')


if __name__ == '__main__':
    main()
