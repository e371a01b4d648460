"""Analyse the predictions ``tools/test.py CONFIG CKPT --out RESULTS.pkl`` dumped.

Detection: per-class AP (VOC ``eval_map`` or COCO pycocotools, as the config's evaluator),
PR curves, confusion matrix with background, precision/recall/F1 at ``--score-thr``,
foreground-vs-background ROC, calibration (ECE, reliability diagram, AURC). Segmentation:
per-class IoU, confusion matrix, pixel calibration when the logits were dumped.
Writes ``summary.json``, ``report.md`` and PNG figures to ``--out``.
"""
import argparse
import sys

from skd_det.analysis.results import analyze
from skd_det.utils import InputError


def parse_args():
    parser = argparse.ArgumentParser(description='Analyse dumped test results')
    parser.add_argument('config', help='the config the results were tested with')
    parser.add_argument('results', help='results pickle of tools/test.py --out')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='score threshold of the confusion matrix and P/R/F1')
    parser.add_argument('--data-root', help='the data root the results were tested on')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        summary = analyze(args.config, args.results, args.out, args.score_thr, args.data_root)
    except InputError as e:
        sys.exit(f'error: {e}')
    with open(f'{args.out}/report.md') as f:
        print(f.read().split('\n## Per class')[0].strip())
    print(f'\nwritten to {args.out}: summary.json, report.md, ' +
          ', '.join(summary['figures'].values()))


if __name__ == '__main__':
    main()
