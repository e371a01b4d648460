"""Final metrics of several runs as mean ± std per group, in the form of the model-zoo
READMEs, from the work dirs' JSON logs; optionally their training loss curves (PNG)::

    python tools/analysis/compare_runs.py work_dirs/retinanet_seed* work_dirs/frskd_seed* \\
        --metrics pascal_voc/mAP --scale 100 --out table.md --plot loss.png

Runs are grouped by name: by default ``name_seed3`` belongs to group ``name``.
"""
import argparse
import os.path as osp
import sys

from skd_det.analysis import logs
from skd_det.analysis.tables import markdown_table


def parse_args():
    parser = argparse.ArgumentParser(description='Compare the final metrics of runs')
    parser.add_argument('work_dirs', nargs='+', help='work dirs of the runs')
    parser.add_argument(
        '--group-by-regex',
        default=logs.DEFAULT_GROUP_REGEX,
        help='regex on the work dir name whose first group names the run\'s '
        'group (default: the name without a _seedN suffix)')
    parser.add_argument('--metrics', nargs='+', help='metric keys to show (default: all)')
    parser.add_argument('--scale', type=float, default=1., help='multiply metrics (e.g. 100)')
    parser.add_argument('--digits', type=int, default=3, help='decimals shown')
    parser.add_argument('--out', help='write the markdown table to this file')
    parser.add_argument('--plot', help='write the training loss curves to this PNG')
    parser.add_argument('--plot-key', default='loss', help='training scalar to plot')
    return parser.parse_args()


def main():
    args = parse_args()
    names = [osp.basename(osp.normpath(d)) for d in args.work_dirs]
    if len(set(names)) != len(names):  # same name in different parents: keep them apart
        names = [osp.normpath(d) for d in args.work_dirs]
    records, runs = {}, {}
    for name, work_dir in zip(names, args.work_dirs):
        if not osp.isdir(work_dir):
            sys.exit(f'error: work dir {work_dir} does not exist')
        records[name] = logs.read_records(work_dir)
        metrics = logs.final_metrics(records[name])
        if not metrics:
            print(
                f'warning: {work_dir} has no validation/test metrics in its JSON logs; '
                'left out',
                file=sys.stderr)
            continue
        runs[name] = metrics
    if not runs:
        sys.exit('error: none of the work dirs has validation/test metrics in its JSON logs '
                 '(<work_dir>/<timestamp>/vis_data/scalars.json)')
    unknown = [m for m in args.metrics or [] if not any(m in r for r in runs.values())]
    if unknown:
        known = sorted({k for r in runs.values() for k in r})
        sys.exit(f'error: no run has the metrics {unknown}; they have {known}')
    groups = {name: logs.group_name(name, args.group_by_regex) for name in names}
    headers, rows, _ = logs.mean_std_rows(runs, groups, args.metrics, args.scale, args.digits)
    table = markdown_table(headers, rows)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    if args.plot:
        from skd_det.analysis.plotting import plot_curves
        curves = {n: logs.loss_curve(records[n], args.plot_key) for n in names}
        curves = {n: c for n, c in curves.items() if c[0].size}
        if not curves:
            sys.exit(f'error: no run logged the training scalar {args.plot_key!r}')
        plot_curves(curves, groups, args.plot, args.plot_key, title='Training')


if __name__ == '__main__':
    main()
