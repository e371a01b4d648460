"""Run a seed study: every (variant, seed) trained and tested on the same generated data,
then per-seed values, mean ± std and each variant's paired difference to the baseline with
its 95% confidence interval (paired t)::

    python tools/analysis/run_study.py configs/frskd/studies/frskd_retinanet_r18_hard_voc.py \\
        [--work-dir work_dirs/studies/NAME] [--runs-dir work_dirs/studies/runs] \\
        [--data-dir work_dirs/studies/data] [--jobs N] [--threads T] [--report-only]

A study file is an mmengine python config::

    description = 'what is compared, and why'        # optional, heads results.md
    data = dict(                                      # skd_det.datasets.synthetic generators
        type='voc',                                   # voc | coco | cityscapes
        train=dict(num_train=125, num_val=25, seed=0, difficulty='hard'),
        test=dict(num_train=1, num_val=200, seed=1, difficulty='hard'),
        root='VOCdevkit')     # --data-root inside each generated folder (default: VOCdevkit
                              # for voc, the folder itself for coco and cityscapes)
    baseline = 'retinanet'
    variants = dict(                                  # name -> config (+ its cfg-options)
        retinanet=dict(config='../../retinanet/retinanet_r18_fpn_cpu_voc0712.py'),
        frskd=dict(config='../frskd_retinanet_r18_fpn_cpu_voc0712.py',
                   cfg_options={'model.distill_losses.loss_kd.loss_weight': 50.}))
    cfg_options = {'train_cfg.max_epochs': 6}         # optional: for every variant (a
                                                      # variant's own cfg_options win)
    test_cfg_options = {'test_evaluator': [...]}      # optional: the test step only (a
                                                      # variant may have its own too); the
                                                      # training runs stay shared with studies
                                                      # without them
    seeds = [0, 1, 2]
    seed_key = 'randomness.seed'                      # optional: the option the seed sets
    metrics = ['pascal_voc/mAP']                      # keys of the test log
    scale, digits = 100, 1                            # optional: shown as value * scale
    threads, jobs = 1, 2                              # optional: threads per run, runs at once

Relative config paths are relative to the study file (as ``_base_``). The training data is
the ``--data-root`` of tools/train.py (its own val split is validated on during training) and
the test data that of tools/test.py, whose final metrics are the study's.

The data is generated once under ``--data-dir`` (shared by studies with the same generator
arguments). A run writes ``<runs dir>/<config name>_<key>/seed<S>/`` (the full config, the
train and test work dirs and logs), ``key`` hashing its full config and data, so studies
that share a run (the same baseline on the same protocol) run it once, and a run whose
config or data changed is a new run. A tested run is skipped when the tool runs again, a
trained one is only tested, an interrupted training resumes from its last checkpoint.
Several runners may share a study (two terminals, or jobs of a cluster on one file system): a
run being trained or tested is claimed by its runner (``running.json``), the others skip it.
Progress: one line per finished run with runs done/left and the estimated time left.
Outputs in the work dir: ``results.json`` (every run's metrics, wall times and directory,
and the statistics), ``results.md`` (tables) and ``results.png`` (per-seed points and
intervals).

Bad input: a study file without a required key, with an empty seed list or an unknown
generator argument stops with one line. A variant whose config is missing or whose
cfg-options are not in its config, a run that fails, and a run whose test log lacks a metric
each give one ``error: <variant> seed <S>: ...`` line; the other runs continue and the tables
mark the hole (``failed``, ``no metric``; ``not run`` for a run without a result yet, as
with ``--report-only``). The exit status is 1 when there is a hole.
"""
import argparse
import json
import os
import os.path as osp
import sys

from skd_det.analysis import study as studies
from skd_det.analysis.study_report import markdown, plot, summarise
from skd_det.utils import InputError

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run a seed study (variants x seeds) and '
                                     'compare the variants with the baseline, paired by seed')
    parser.add_argument('study', help='study file (python config, see the docstring)')
    parser.add_argument('--work-dir', help='default: work_dirs/studies/<study name>')
    parser.add_argument(
        '--runs-dir',
        default=osp.join('work_dirs', 'studies', 'runs'),
        help='where the runs are kept, shared by studies (default: '
        '%(default)s)')
    parser.add_argument(
        '--data-dir',
        default=osp.join('work_dirs', 'studies', 'data'),
        help='where the generated data sets are kept (default: %(default)s)')
    parser.add_argument('--jobs', type=int, help='runs at a time (default: the study\'s)')
    parser.add_argument(
        '--threads', type=int, help='torch/OpenMP threads per run (default: the study\'s)')
    parser.add_argument(
        '--report-only',
        action='store_true',
        help='write the results of the finished runs; run nothing')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        study = studies.load_study(args.study)
        jobs = args.jobs or study.jobs
        threads = args.threads or study.threads
        if jobs < 1 or threads < 1:
            raise InputError(f'jobs ({jobs}) and threads ({threads}) must be at least 1')
        work_dir = args.work_dir or osp.join('work_dirs', 'studies', study.name)
        os.makedirs(work_dir, exist_ok=True)
        runs = studies.plan_runs(study, args.runs_dir)
        if args.report_only:
            results = {r.name: studies.read_result(r) for r in runs if studies.read_result(r)}
        else:
            if jobs * threads > (os.cpu_count() or 1):
                print(f'warning: {jobs} jobs x {threads} threads > {os.cpu_count()} CPUs')
            roots = studies.prepare_data(study, args.data_dir)
            results = studies.run_all(runs, roots, TOOLS, threads, jobs)
    except InputError as e:
        sys.exit(f'error: {e}')
    summary = summarise(study, runs, results)
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    table = markdown(summary)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(table)
    plot(summary, osp.join(work_dir, 'results.png'))
    print(table)
    print(f'wrote {work_dir}/results.json, results.md, results.png')
    return int(any(r['status'] != 'ok' for r in summary['runs']))


if __name__ == '__main__':
    sys.exit(main())
