# Copyright (c) skd_det contributors.
"""Motion-blur kernels from camera-shake models and their application.

Kernels (``(k, k)`` float32 arrays, non-negative, summing to one):

- ``'trajectory'``: a random camera-shake trajectory of "Modeling the
  Performance of Image Restoration From Motion Blur" (Boracchi & Foi, IEEE
  TIP 2012): a particle whose unit-speed velocity is pulled back towards the
  origin (centripetal term), perturbed by Gaussian noise and, rarely, by an
  abrupt shake; the whole path is rasterised with bilinear weights. This is
  what Cho et al. (IEEE Access 2022, blur-robust S-KD) synthesise blurry VOC
  with.
- ``'linear'``: a uniform linear motion of random direction.

Both are scaled so that the motion spans ``extent`` pixels, the kernel's side
(its larger bounding-box side for a trajectory, its length for a line): the
severity tables below control blur through that extent alone.

Blurring (:func:`blur_tensor`) applies the same kernel to every channel
(cross-correlation, replicate padding, so the output has the input's size and
a constant image stays constant). Motion blur is linear and the kernels sum
to one, so it commutes with per-channel affine normalisation away from
padding: blurring a normalised batch on the training device equals
normalising blurred images.
"""
import hashlib
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: Motion extent in pixels (= kernel side) per severity, for both kernel
#: types. Severity 5 is the paper's largest kernel (~31 px on VOC images,
#: ~500 px wide); 1 is a barely visible 5 px smear.
MOTION_BLUR_EXTENTS: Dict[int, int] = {1: 5, 2: 9, 3: 15, 4: 21, 5: 31}

#: imagecorruptions' ``motion_blur`` (radius, sigma) per severity, for the
#: record (Michaelis et al. 2019 COCO-C/Pascal-C); that package applies them.
IMAGECORRUPTIONS_MOTION_BLUR = {1: (10, 3), 2: (15, 5), 3: (15, 8), 4: (15, 12), 5: (20, 15)}

#: Corruption names: ours (trajectory / linear kernels) and imagecorruptions'.
CORRUPTIONS = ('motion_blur', 'linear_motion_blur', 'ic_motion_blur')
KERNEL_TYPES = ('trajectory', 'linear')
_KERNEL_OF = {'motion_blur': 'trajectory', 'linear_motion_blur': 'linear'}


def check_severity(severity: int) -> int:
    """Return ``severity`` if it is an integer in 1..5, else raise."""
    if isinstance(severity, bool) or not isinstance(severity,
                                                    (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f'motion blur severity must be an integer in 1..5, '
                         f'got {severity!r}')
    return int(severity)


def check_corruption(name: str) -> str:
    if name not in CORRUPTIONS:
        raise ValueError(f'unknown corruption {name!r}; known: '
                         f'{", ".join(CORRUPTIONS)}')
    return name


def _rasterise(points: np.ndarray, size: int) -> np.ndarray:
    """Bilinear splat of (P, 2) (x, y) points lying in [0, size-1]^2 into a
    normalised (size, size) kernel."""
    kernel = np.zeros((size, size), np.float64)
    x0 = np.clip(np.floor(points[:, 0]).astype(int), 0, size - 1)
    y0 = np.clip(np.floor(points[:, 1]).astype(int), 0, size - 1)
    x1 = np.minimum(x0 + 1, size - 1)
    y1 = np.minimum(y0 + 1, size - 1)
    fx = np.clip(points[:, 0] - x0, 0, 1)
    fy = np.clip(points[:, 1] - y0, 0, 1)
    for ys, xs, w in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x1, fx * (1 - fy)),
                      (y1, x0, (1 - fx) * fy), (y1, x1, fx * fy)):
        np.add.at(kernel, (ys, xs), w)
    return (kernel / kernel.sum()).astype(np.float32)


def _fit(points: np.ndarray, size: int) -> np.ndarray:
    """Scale (isotropically) and centre (P, 2) points so that their larger
    bounding-box side spans ``size - 1`` pixels."""
    points = points - points.min(0)
    span = points.max(0)
    scale = (size - 1) / max(float(span.max()), 1e-12)
    points = points * scale
    return points + ((size - 1) - points.max(0)) / 2


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size,
                                                (int, np.integer)) or size < 1 or size % 2 == 0:
        raise ValueError(f'kernel size must be an odd integer >= 1 (the '
                         f'kernel is centred on a pixel), got {size!r}')
    return int(size)


def trajectory_kernel(size: int,
                      rng: np.random.Generator,
                      num_steps: int = 2000,
                      anxiety: float = 0.005,
                      length: float = 60.0) -> np.ndarray:
    """A random camera-shake kernel (Boracchi & Foi 2012).

    The trajectory's random parameters (centripetal pull in [0, 0.7],
    Gaussian shake in [0, 10], big-shake probability in [0, 0.2], initial
    direction) are drawn per kernel as in the authors' generator; ``anxiety``
    scales the perturbations. The path is simulated at the authors' scale
    (``length`` px in ``num_steps`` steps, which sets the strength of the
    centripetal pull) and then rescaled to ``size``.

    Args:
        size (int): Odd kernel side, the motion's extent in pixels.
        rng (np.random.Generator): Randomness (seed it for reproducibility).
        num_steps (int): Trajectory samples. Defaults to 2000.
        anxiety (float): Shake strength. Defaults to 0.005.
        length (float): Simulated path length in px. Defaults to 60.
        (Defaults: the authors' generator.)

    Returns:
        np.ndarray: (size, size) float32, non-negative, sums to one.
    """
    size = _check_size(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    centripetal = 0.7 * rng.random()
    prob_big_shake = 0.2 * rng.random()
    gaussian_shake = 10 * rng.random()
    step = length / (num_steps - 1)
    v = np.exp(1j * 2 * np.pi * rng.random()) * anxiety
    big = rng.random(num_steps - 1) < prob_big_shake * anxiety
    turns = rng.random(num_steps - 1) - 0.5
    noise = rng.standard_normal(num_steps - 1) + 1j * rng.standard_normal(num_steps - 1)
    x = np.zeros(num_steps, np.complex128)
    for t in range(num_steps - 1):
        dv = anxiety * (gaussian_shake * noise[t] - centripetal * x[t]) * step
        if big[t]:
            dv = dv + 2 * v * np.exp(1j * (np.pi + turns[t]))
        v = v + dv
        v = v / abs(v) * step
        x[t + 1] = x[t] + v
    points = np.stack([x.real, x.imag], 1)
    return _rasterise(_fit(points, size), size)


def linear_kernel(size: int, angle: float) -> np.ndarray:
    """A uniform linear motion of length ``size - 1`` pixels through the
    kernel centre at ``angle`` (radians), anti-aliased.

    Returns:
        np.ndarray: (size, size) float32, non-negative, sums to one.
    """
    size = _check_size(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    t = np.linspace(-(size - 1) / 2, (size - 1) / 2, 8 * size)
    c = (size - 1) / 2
    points = np.stack([c + t * np.cos(angle), c + t * np.sin(angle)], 1)
    return _rasterise(points, size)


def random_kernel(kernel_type: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """A kernel of ``kernel_type`` ('trajectory' | 'linear') at the extent
    :data:`MOTION_BLUR_EXTENTS` gives ``severity`` (1..5)."""
    size = MOTION_BLUR_EXTENTS[check_severity(severity)]
    if kernel_type == 'trajectory':
        return trajectory_kernel(size, rng)
    if kernel_type == 'linear':
        return linear_kernel(size, np.pi * rng.random())
    raise ValueError(f'unknown motion blur kernel type {kernel_type!r}; '
                     f'known: {", ".join(KERNEL_TYPES)}')


def blur_tensor(inputs: Tensor, kernels: Union[Tensor, Sequence]) -> Tensor:
    """Blur each image of a batch with its own kernel, the same kernel on
    every channel; replicate padding keeps the size.

    Args:
        inputs (Tensor): (N, C, H, W) floating-point images, any C.
        kernels (Tensor | Sequence): (N, k, k) tensor, or N (k_i, k_i)
            arrays/tensors of odd sides (zero-padded to the largest).

    Returns:
        Tensor: (N, C, H, W) blurred images, ``inputs``' dtype and device.
    """
    if inputs.dim() != 4 or not inputs.is_floating_point():
        raise ValueError(f'blur_tensor: inputs must be a floating-point '
                         f'(N, C, H, W) batch, got {inputs.dtype} of shape '
                         f'{tuple(inputs.shape)}')
    n, c, h, w = inputs.shape
    ks = [torch.as_tensor(k, dtype=torch.float32) for k in kernels]
    if len(ks) != n:
        raise ValueError(f'blur_tensor: {len(ks)} kernels for {n} images')
    size = max(int(k.shape[-1]) for k in ks)
    for k in ks:
        if k.dim() != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
            raise ValueError(f'blur_tensor: kernels must be square with odd '
                             f'sides, got {tuple(k.shape)}')
    if size > min(h, w):
        raise ValueError(f'motion blur kernel of {size}x{size} px is larger '
                         f'than the {h}x{w} image: use a lower severity or '
                         'larger images')
    weight = torch.stack([F.pad(k, [(size - int(k.shape[-1])) // 2] * 4) for k in ks]).to(
        device=inputs.device, dtype=inputs.dtype)
    weight = weight[:, None].repeat_interleave(c, 0)  # (N*C, 1, k, k)
    pad = size // 2
    x = F.pad(inputs.reshape(1, n * c, h, w), [pad] * 4, mode='replicate')
    return F.conv2d(x, weight, groups=n * c).reshape(n, c, h, w)


def blur_image(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Blur one (H, W) or (H, W, C) image (any C: the same kernel on every
    channel) with ``kernel``; integer images are rounded and clipped to their
    dtype's range, so the result has ``img``'s shape and dtype."""
    if img.ndim not in (2, 3):
        raise ValueError(f'motion blur needs an (H, W) or (H, W, C) image, '
                         f'got shape {img.shape}')
    chw = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
    x = torch.from_numpy(np.ascontiguousarray(chw, dtype=np.float32))
    out = blur_tensor(x[None], [kernel])[0].numpy()
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = out.astype(img.dtype)
    return out[0] if img.ndim == 2 else out.transpose(1, 2, 0)


def corruption_seed(key: str, corruption: str, severity: int, seed: int = 0) -> int:
    """A 64-bit seed from an image key (id or file name), the corruption, the
    severity and a global seed; stable across processes and machines (unlike
    Python's salted ``hash``)."""
    digest = hashlib.sha256(f'{seed}|{corruption}|{severity}|{key}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little')


def corrupt(img: np.ndarray,
            corruption: str,
            severity: int,
            rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Apply ``corruption`` (one of :data:`CORRUPTIONS`) at ``severity``
    (1..5) to an (H, W[, C]) image. 'ic_motion_blur' calls the
    ``imagecorruptions`` package (``pip install imagecorruptions``), which
    needs (H, W) or (H, W, 3) uint8 images and returns uint8."""
    check_corruption(corruption)
    severity = check_severity(severity)
    if corruption == 'ic_motion_blur':
        try:
            from imagecorruptions import corrupt as ic_corrupt
        except ImportError as e:
            raise ImportError("corruption 'ic_motion_blur' needs the imagecorruptions "
                              'package (pip install imagecorruptions)') from e
        if img.ndim == 3 and img.shape[2] != 3:
            raise ValueError(f"'ic_motion_blur' needs an (H, W) or (H, W, 3) "
                             f'image, got shape {img.shape}')
        # imagecorruptions draws from numpy's global RNG
        state = np.random.get_state()
        np.random.seed(int((rng or np.random.default_rng()).integers(2**31)))
        try:
            out = ic_corrupt(img, corruption_name='motion_blur', severity=severity)
        finally:
            np.random.set_state(state)
        return np.asarray(out).astype(img.dtype)
    rng = rng or np.random.default_rng()
    return blur_image(img, random_kernel(_KERNEL_OF[corruption], severity, rng))
