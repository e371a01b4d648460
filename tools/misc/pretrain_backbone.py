"""Pretrain a ResNet or EfficientNet-B0 backbone on a synthetic classification task, as a CPU
stand-in for ImageNet weights (issue 14: a pretrained-backbone proxy)::

    python tools/misc/pretrain_backbone.py [--arch resnet] [--depth 18] [--deep-stem] \\
        [--num-classes 60] [--images 6000] [--epochs 3] [--img-size 64] [--lr LR] \\
        [--seed 1000] [--out PATH]
    python tools/misc/pretrain_backbone.py --arch efficientnet-b0 [...]

The task, object-centric as ImageNet: the class of an object cut out of its scene (one softmax
over ``--num-classes`` identities, ``class_styles``; wider than VOC's 20), the objects of
scenes of the synthetic generator (``skd_det.datasets.synthetic.render_scene``, easy and hard
mixed) drawn from generator seeds the detection data sets do not use, so that detection on the
synthetic data is a transfer, not a rerun of its training set. (Telling which classes are in a
whole scene, one sigmoid per class, did not learn on this budget: its loss stopped at the
class-frequency prior.) Deterministic (same arguments, same weights). The log gives each
epoch's loss and the accuracy on held-out crops, against chance.

``--arch`` picks the backbone, as the configs build it, so that the keys match:

* ``resnet`` (default): mmdet's ``ResNet`` of ``--depth`` (``conv1``, ``bn1``,
  ``layer1.0.conv1``, ...; with ``--deep-stem`` the three-conv ``stem`` of mmseg's
  ``ResNetV1c``, as open-mmlab's ``*_v1c`` ImageNet weights). A config loads them as it loads
  ImageNet weights, ``backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH)``.
* ``efficientnet-b0``: skd_det's ``TorchvisionEfficientNet`` B0, EfficientDet-D0's backbone
  (``features.0`` .. ``features.7``, all of its blocks), trained with AdamW (lr 0.002, weight
  decay 0.05; ResNet's SGD barely leaves chance here) and BN momentum 0.1 instead of its 0.01,
  whose running statistics would trail a few hundred steps of training (the statistics are
  what a detector with ``norm_eval`` keeps). That class loads ImageNet weights through its own
  argument, ``backbone.pretrained=PATH`` (an absolute path: it does not expand ``~``), and so
  does it load these.

Either way the file holds the backbone's weights and BN statistics, no classifier, under
``state_dict``: loaded without missing or unexpected keys. The file is cached: by default
``$SKD_DET_CACHE/pretrained/<name>_<hash of the arguments>.pth``, ``<name>`` ``resnet<D>``,
``resnet<D>_v1c`` or ``efficientnet-b0`` (``SKD_DET_CACHE`` defaults to ``~/.cache/skd_det``);
when it exists nothing is trained and its path is printed. The defaults are the budget of the
pretrained-backbone proxy: the ``*_pretrained`` CPU configs point at the file they write (time
and transfer check: configs/retinanet/README.md).
"""
import argparse
import hashlib
import json
import math
import os
import os.path as osp
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from PIL import Image

from skd_det.datasets.synthetic import class_styles, render_scene
from skd_det.models.backbones import TorchvisionEfficientNet

SCENE = 256  # side of the rendered scenes, as the CPU detection data
CACHE = os.environ.get('SKD_DET_CACHE', osp.join(osp.expanduser('~'), '.cache', 'skd_det'))
#: the defaults that depend on ``--arch`` (the lr is the optimiser's, see build_optimizer)
ARCH_DEFAULTS = {'resnet': dict(depth=18, lr=0.1), 'efficientnet-b0': dict(lr=2e-3)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Pretrain a backbone on synthetic scenes')
    parser.add_argument(
        '--arch', default='resnet', choices=tuple(ARCH_DEFAULTS), help='backbone (see docstring)')
    parser.add_argument(
        '--depth', type=int, choices=(18, 34, 50), help='ResNet depth (default: 18)')
    parser.add_argument(
        '--deep-stem',
        action='store_true',
        help='ResNet with a three-conv stem (mmseg ResNetV1c, e.g. FCN R18-D8)')
    parser.add_argument('--num-classes', type=int, default=60, help='class identities')
    parser.add_argument('--images', type=int, default=6000, help='training object crops')
    parser.add_argument(
        '--val-images', type=int, default=500, help='held-out object crops (accuracy in the log)')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--img-size', type=int, default=64, help='side of the square crops')
    parser.add_argument('--batch-size', type=int, default=64)
    lr_defaults = ', '.join(f'{arch} {d["lr"]}' for arch, d in ARCH_DEFAULTS.items())
    parser.add_argument(
        '--lr',
        type=float,
        help='peak learning rate, cosine decay; SGD for ResNet, AdamW for EfficientNet '
        f'(default: {lr_defaults})')
    parser.add_argument(
        '--seed',
        type=int,
        default=1000,
        help='generator and torch seed (the detection data use small seeds)')
    parser.add_argument('--out', help='weights file (default: the cache, see the docstring)')
    args = parser.parse_args(argv)
    if args.arch != 'resnet' and (args.depth is not None or args.deep_stem):
        parser.error('--depth and --deep-stem are ResNet options')
    for key, value in ARCH_DEFAULTS[args.arch].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ('num_classes', 'images', 'epochs', 'img_size', 'batch_size'):
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be at least 1')
    if args.val_images < 0:
        parser.error('--val-images must be at least 0')
    return args


def recipe(args) -> dict:
    # ResNet's recipe has no `arch` key: the hashes, so the file names, of the ResNet weights
    # the configs point at stay those written before --arch existed
    arch_keys = ('depth', 'deep_stem') if args.arch == 'resnet' else ('arch', )
    return {
        k: getattr(args, k)
        for k in arch_keys +
        ('num_classes', 'images', 'val_images', 'epochs', 'img_size', 'batch_size', 'lr', 'seed')
    }


def build_backbone(args):
    """The backbone, with only its last level as output, and that level's width."""
    if args.arch == 'resnet':
        backbone = ResNet(depth=args.depth, deep_stem=args.deep_stem, out_indices=(3, ))
        return backbone, backbone.feat_dim
    # BN momentum 0.1, not the class's 0.01: statistics that keep up with a short training
    backbone = TorchvisionEfficientNet(
        arch='b0', out_indices=(4, ), norm_cfg=dict(type='BN', eps=1e-3, momentum=0.1))
    return backbone, backbone.out_channels[-1]


def make_crops(args, count: int, tag: bytes):
    """``count`` object crops (N, 3, S, S) uint8 and their class indices (N, ) int64: every
    annotated object of generator scenes (easy and hard alternating, rendered at the detection
    data's 256x256) cut out with a margin of a quarter of its box on each side, resized to S."""
    styles = class_styles(args.num_classes)
    size = args.img_size
    images = np.empty((count, 3, size, size), np.uint8)
    labels = np.empty(count, np.int64)
    done, index = 0, 0
    while done < count:
        rng = np.random.default_rng([args.seed, zlib.crc32(tag), index])
        scene = render_scene(rng, SCENE, SCENE, styles, difficulty='hard' if index % 2 else 'easy')
        index += 1
        for obj in scene.objects[:count - done]:
            x0, y0, x1, y1 = obj.box
            mx, my = (x1 - x0) // 4, (y1 - y0) // 4
            crop = scene.image[max(y0 - my, 0):y1 + my, max(x0 - mx, 0):x1 + mx]
            crop = Image.fromarray(crop).resize((size, size), Image.BILINEAR)
            images[done] = np.asarray(crop).transpose(2, 0, 1)
            labels[done] = obj.label
            done += 1
    return torch.from_numpy(images), torch.from_numpy(labels)


def build_optimizer(args, params):
    # SGD as ResNet's ImageNet recipe; EfficientNet's barely left chance with SGD on this budget
    # (lr 0.03 to 0.3; its ImageNet recipe is not SGD either, but RMSProp), where AdamW with the
    # CPU detectors' weight decay learns
    if args.arch == 'resnet':
        return torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    return torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05)


def pretrain(args, log=print) -> dict:
    """Train the backbone and a linear classifier; returns the backbone's state dict. Logs
    each epoch's training loss (chance: ln(num_classes)) and the accuracy on held-out crops."""
    torch.manual_seed(args.seed)
    images, labels = make_crops(args, args.images, b'pretrain')
    val_images, val_labels = make_crops(args, args.val_images, b'pretrain-val')
    backbone, width = build_backbone(args)
    backbone.init_weights()
    head = torch.nn.Linear(width, args.num_classes)
    params = list(backbone.parameters()) + list(head.parameters())
    optimizer = build_optimizer(args, params)
    steps = args.epochs * -(-args.images // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    # mmdet's data preprocessor normalisation (ImageNet mean/std), as the detectors see images
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)

    def classify(x):
        return head(backbone((x.float() - mean) / std)[0].mean((2, 3)))

    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        backbone.train()
        order = torch.randperm(args.images, generator=generator)
        total, start = 0., time.time()
        for first in range(0, args.images, args.batch_size):
            idx = order[first:first + args.batch_size]
            x = images[idx]
            if torch.rand(1, generator=generator).item() < 0.5:
                x = x.flip(3)
            loss = F.cross_entropy(classify(x), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        backbone.eval()
        with torch.no_grad():
            hits = sum((classify(x).argmax(1) == y).sum().item()
                       for x, y in zip(val_images.split(256), val_labels.split(256)))
        log(f'epoch {epoch + 1}/{args.epochs}: loss {total / args.images:.3f} (chance '
            f'{math.log(args.num_classes):.3f}), held-out accuracy '
            f'{hits / max(args.val_images, 1):.3f} (chance {1 / args.num_classes:.3f}) '
            f'({time.time() - start:.0f} s)')
    return backbone.state_dict()


def cache_path(args) -> str:
    """The cached weights file of this recipe (what ``--out`` defaults to)."""
    if args.arch == 'resnet':
        name = f'resnet{args.depth}' + ('_v1c' if args.deep_stem else '')
    else:
        name = args.arch
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
