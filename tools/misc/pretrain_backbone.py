"""Pretrain a ResNet backbone on a synthetic classification task, as a CPU stand-in for
ImageNet weights (issue 14: a pretrained-backbone proxy)::

    python tools/misc/pretrain_backbone.py [--depth 18] [--deep-stem] [--num-classes 60] \\
        [--images 1500] [--epochs 3] [--img-size 96] [--seed 1000] [--out PATH]

The task: which classes appear in an image (multi-label, one sigmoid per class), on scenes of
the synthetic generator (``skd_det.datasets.synthetic.render_scene``, easy and hard mixed)
drawn from generator seeds the detection data sets do not use, over ``--num-classes``
identities (``class_styles``; wider than VOC's 20), so that detection on the synthetic data is
a transfer, not a rerun of its training set. Deterministic (same arguments, same weights).

The weights are mmdet's ``ResNet`` keys (``conv1``, ``bn1``, ``layer1.0.conv1``, ...; with
``--deep-stem`` the three-conv ``stem`` of mmseg's ``ResNetV1c``, as open-mmlab's ``*_v1c``
ImageNet weights), no classifier, under ``state_dict``: a config loads them as it loads
ImageNet weights, ``backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)``, without
missing or unexpected keys. The file is cached: by default
``$SKD_DET_CACHE/pretrained/resnet<D>[_v1c]_<hash of the arguments>.pth`` (``SKD_DET_CACHE``
defaults to ``~/.cache/skd_det``); when it exists nothing is trained and its path is
printed. The defaults are the budget of the pretrained-backbone proxy: the ``*_pretrained``
CPU configs point at the file they write (time and transfer check: configs/retinanet/README.md).
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet

from skd_det.datasets.synthetic import class_styles, render_scene

CACHE = os.environ.get('SKD_DET_CACHE', osp.join(osp.expanduser('~'), '.cache', 'skd_det'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Pretrain a ResNet on synthetic scenes')
    parser.add_argument('--depth', type=int, default=18, choices=(18, 34, 50))
    parser.add_argument('--deep-stem', action='store_true',
                        help='three-conv stem (mmseg ResNetV1c, e.g. FCN R18-D8)')
    parser.add_argument('--num-classes', type=int, default=60, help='class identities')
    parser.add_argument('--images', type=int, default=1500, help='training images')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--img-size', type=int, default=96, help='square image side')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--lr', type=float, default=0.1, help='SGD, cosine decay')
    parser.add_argument('--seed', type=int, default=1000,
                        help='generator and torch seed (the detection data use small seeds)')
    parser.add_argument('--out', help='weights file (default: the cache, see the docstring)')
    args = parser.parse_args(argv)
    for key in ('num_classes', 'images', 'epochs', 'img_size', 'batch_size'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be at least 1')
    return args


def recipe(args) -> dict:
    return {k: getattr(args, k) for k in ('depth', 'deep_stem', 'num_classes', 'images', 'epochs',
                                          'img_size', 'batch_size', 'lr', 'seed')}


def make_data(args):
    """Images (N, 3, S, S) uint8 and multi-hot labels (N, num_classes) float."""
    styles = class_styles(args.num_classes)
    images = np.empty((args.images, 3, args.img_size, args.img_size), np.uint8)
    labels = np.zeros((args.images, args.num_classes), np.float32)
    tag = zlib.crc32(b'pretrain')
    for i in range(args.images):
        rng = np.random.default_rng([args.seed, tag, i])
        scene = render_scene(rng, args.img_size, args.img_size, styles,
                             difficulty='hard' if i % 2 else 'easy')
        images[i] = scene.image.transpose(2, 0, 1)
        labels[i, [o.label for o in scene.objects]] = 1
    return torch.from_numpy(images), torch.from_numpy(labels)


def pretrain(args, log=print) -> dict:
    """Train the backbone and a linear classifier; returns the backbone's state dict."""
    torch.manual_seed(args.seed)
    images, labels = make_data(args)
    backbone = ResNet(depth=args.depth, deep_stem=args.deep_stem, out_indices=(3, ))
    backbone.init_weights()
    head = torch.nn.Linear(backbone.feat_dim, args.num_classes)
    params = list(backbone.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    steps = args.epochs * -(-args.images // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    # mmdet's data preprocessor normalisation (ImageNet mean/std), as the detectors see images
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    generator = torch.Generator().manual_seed(args.seed)
    backbone.train()
    for epoch in range(args.epochs):
        order = torch.randperm(args.images, generator=generator)
        total, start = 0., time.time()
        for first in range(0, args.images, args.batch_size):
            idx = order[first:first + args.batch_size]
            x = (images[idx].float() - mean) / std
            if torch.rand(1, generator=generator).item() < 0.5:
                x = x.flip(3)
            logits = head(backbone(x)[0].mean((2, 3)))
            loss = F.binary_cross_entropy_with_logits(logits, labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        log(f'epoch {epoch + 1}/{args.epochs}: loss {total / args.images:.4f} '
            f'({time.time() - start:.0f} s)')
    return backbone.state_dict()


def cache_path(args) -> str:
    """The cached weights file of this recipe (what ``--out`` defaults to)."""
    name = f'resnet{args.depth}' + ('_v1c' if args.deep_stem else '')
    key = hashlib.sha1(json.dumps(recipe(args), sort_keys=True).encode()).hexdigest()[:10]
    return osp.join(CACHE, 'pretrained', f'{name}_{key}.pth')


def main(argv=None) -> str:
    args = parse_args(argv)
    meta = recipe(args)
    out = args.out or cache_path(args)
    if osp.isfile(out):
        print(f'cached: {out}')
        return out
    state = pretrain(args, log=lambda line: print(line, flush=True))  # progress as it comes
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), out + '.tmp')
    os.replace(out + '.tmp', out)  # never a half-written file in the cache
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    main()
