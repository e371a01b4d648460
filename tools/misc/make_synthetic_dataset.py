# Copyright (c) skd_det contributors.
"""Write a deterministic synthetic dataset in the real VOC, COCO or Cityscapes layout.

Examples::

    python tools/misc/make_synthetic_dataset.py voc data --num-train 200 --num-val 50
    python tools/misc/make_synthetic_dataset.py coco data/coco --difficulty hard
    python tools/misc/make_synthetic_dataset.py cityscapes data/cityscapes --img-size 256 512

OUT_DIR is the dataset root the configs use: ``data`` for VOC (it gets ``data/VOCdevkit``),
``data/coco`` and ``data/cityscapes`` for the others.
"""
import argparse
import logging

from skd_det.datasets.synthetic import (DIFFICULTIES, generate_cityscapes, generate_coco,
                                        generate_voc)

GENERATORS = dict(voc=generate_voc, coco=generate_coco, cityscapes=generate_cityscapes)


def _int_at_least(minimum: int):

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f'must be an integer >= {minimum}, got {text!r}')
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write a deterministic synthetic dataset in the real VOC, '
        'COCO or Cityscapes on-disk format (same arguments give identical '
        'files).')
    parser.add_argument('format', choices=sorted(GENERATORS), help='format')
    parser.add_argument(
        'out_dir',
        metavar='OUT_DIR',
        help='dataset root; must be empty or missing unless --overwrite')
    parser.add_argument(
        '--num-train', type=_int_at_least(1), default=200, help='train images (per year for VOC)')
    parser.add_argument(
        '--num-val',
        type=_int_at_least(1),
        default=50,
        help='val images (per year for VOC, and VOC2007 test)')
    parser.add_argument('--seed', type=_int_at_least(0), default=0, help='random seed')
    parser.add_argument(
        '--difficulty',
        choices=DIFFICULTIES,
        default='easy',
        help='easy: 1-4 large objects; hard: 5-15 small, '
        'overlapping objects with distractors')
    parser.add_argument(
        '--img-size',
        type=_int_at_least(32),
        nargs=2,
        metavar=('H', 'W'),
        help='fixed image size (default: VOC/COCO vary each side in 224-320, '
        'Cityscapes 256 512)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='write into a non-empty OUT_DIR, replacing the folders of this '
        'format (other content is kept)')
    return parser, parser.parse_args(argv)


def main(argv=None):
    parser, args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    try:
        stats = GENERATORS[args.format](
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            seed=args.seed,
            difficulty=args.difficulty,
            img_size=args.img_size,
            overwrite=args.overwrite)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))
    for split, split_stats in stats['splits'].items():
        print(f'{split}: {split_stats["images"]} images, '
              f'{split_stats["objects"]} objects, '
              f'{split_stats["seconds"]:.1f} s '
              f'({split_stats["images"] / split_stats["seconds"]:.1f} '
              'images/s)')
    print(f'wrote {args.format} to {args.out_dir} in {stats["seconds"]:.1f} s')


if __name__ == '__main__':
    main()
