# Copyright (c) skd_det contributors.
"""Motion-blur kernels, the deterministic test transform and the training batch augmentation."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.registry import MODELS, TRANSFORMS
from mmengine.structures import InstanceData

from skd_det.datasets.transforms import MotionBlurCorruption
from skd_det.datasets.transforms import motion_blur as mb
from skd_det.models.data_preprocessors import SHARP_KEY, MotionBlurBatchAugment, sharp_views


@pytest.mark.parametrize('kind', mb.KERNEL_TYPES)
@pytest.mark.parametrize('severity', [1, 2, 3, 4, 5])
def test_kernels_are_normalised_and_span_the_severity_extent(kind, severity):
    k = mb.random_kernel(kind, severity, np.random.default_rng(severity))
    size = mb.MOTION_BLUR_EXTENTS[severity]
    assert k.shape == (size, size) and k.dtype == np.float32
    assert (k >= 0).all() and k.sum() == pytest.approx(1.0, abs=1e-5)
    pts = np.argwhere(k > 1e-6).astype(float)
    # the motion spans the kernel: a trajectory's box side, a line's length is size - 1 (up to
    # the bilinear splat's one-pixel spill)
    span = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])) if kind == 'trajectory' else \
        np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)).max()
    assert size - 2 <= span <= size + 1
    if size > 1:
        assert k.max() < 0.5  # a smear, not a delta


def test_severity_extents_grow():
    extents = [mb.MOTION_BLUR_EXTENTS[s] for s in range(1, 6)]
    assert extents == sorted(set(extents)) and extents[-1] == 31


def test_linear_kernel_is_a_line():
    k = mb.linear_kernel(9, 0.0)  # horizontal through the centre, from x=0 to x=8
    assert k[4].sum() == pytest.approx(1.0, abs=1e-5)
    # a uniform segment of length 8 splatted bilinearly: 1/8 inside, half at both ends
    np.testing.assert_allclose(k[4], [1 / 16] + [1 / 8] * 7 + [1 / 16], atol=0.01)


def test_trajectory_kernels_differ_by_seed_and_repeat_with_it():
    a = mb.trajectory_kernel(15, np.random.default_rng(1))
    b = mb.trajectory_kernel(15, np.random.default_rng(1))
    c = mb.trajectory_kernel(15, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_blur_of_a_constant_image_is_constant():
    img = np.full((40, 50, 3), 77, np.uint8)
    out = mb.corrupt(img, 'motion_blur', 5, np.random.default_rng(0))
    np.testing.assert_array_equal(out, img)
    x = torch.full((2, 3, 40, 40), -1.25)
    kernels = [mb.random_kernel('trajectory', 5, np.random.default_rng(i)) for i in range(2)]
    torch.testing.assert_close(mb.blur_tensor(x, kernels), x)


def test_blur_commutes_with_normalisation_away_from_borders():
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.uniform(0, 255, (1, 3, 64, 64)).astype(np.float32))
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    k = [mb.random_kernel('trajectory', 3, rng)]
    a = mb.blur_tensor((img - mean) / std, k)
    b = (mb.blur_tensor(img, k) - mean) / std
    m = 15 // 2
    torch.testing.assert_close(a[..., m:-m, m:-m], b[..., m:-m, m:-m], atol=1e-4, rtol=1e-4)


def test_blur_image_keeps_shape_and_dtype_for_any_channel_count():
    rng = np.random.default_rng(0)
    for shape in [(32, 40), (32, 40, 1), (32, 40, 3), (32, 40, 4)]:
        img = rng.integers(0, 256, shape).astype(np.uint8)
        out = mb.corrupt(img, 'linear_motion_blur', 2, np.random.default_rng(0))
        assert out.shape == img.shape and out.dtype == np.uint8
        assert not np.array_equal(out, img)
    # every channel gets the same kernel: equal channels stay equal
    gray = rng.integers(0, 256, (32, 40)).astype(np.uint8)
    out = mb.corrupt(np.stack([gray] * 4, -1), 'motion_blur', 3, np.random.default_rng(3))
    ref = mb.corrupt(gray, 'motion_blur', 3, np.random.default_rng(3))
    for c in range(4):
        np.testing.assert_array_equal(out[..., c], ref)


def test_bad_input_raises_clear_errors():
    img = np.zeros((20, 25, 3), np.uint8)
    with pytest.raises(ValueError, match='31x31 px is larger than the 20x25 image'):
        mb.corrupt(img, 'motion_blur', 5, np.random.default_rng(0))
    for severity in (0, 6, 2.5, True):
        with pytest.raises(ValueError, match='severity must be an integer in 1..5'):
            MotionBlurCorruption(severity=severity)
    with pytest.raises(ValueError, match="unknown corruption 'gaussian_blur'"):
        MotionBlurCorruption(severity=1, corruption='gaussian_blur')
    with pytest.raises(ValueError, match=r'\(H, W\) or \(H, W, C\) image'):
        mb.corrupt(np.zeros((2, 20, 20, 3), np.uint8), 'motion_blur', 1)
    with pytest.raises(ValueError, match='kernel size must be an odd'):
        mb.linear_kernel(4, 0.0)
    with pytest.raises(ValueError, match='kernel_types'):
        MotionBlurBatchAugment(kernel_types=['gaussian'])


def test_imagecorruptions_is_optional():
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    try:
        import imagecorruptions  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match='pip install imagecorruptions'):
            mb.corrupt(img, 'ic_motion_blur', 1)
    else:
        out = mb.corrupt(img, 'ic_motion_blur', 1, np.random.default_rng(0))
        assert out.shape == img.shape and out.dtype == np.uint8


def test_transform_is_registered_and_deterministic_per_image_and_severity():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (64, 80, 3)).astype(np.uint8)
    t = TRANSFORMS.build(dict(type='MotionBlurCorruption', severity=3))

    def run(transform, **keys):
        return transform(dict(img=img.copy(), **keys))['img']

    first = run(t, img_id='000005', img_path='/a/000005.jpg')
    np.testing.assert_array_equal(first, run(MotionBlurCorruption(3), img_id='000005'))
    assert not np.array_equal(first, img)
    assert not np.array_equal(first, run(t, img_id='000006'))
    assert not np.array_equal(first, run(MotionBlurCorruption(4), img_id='000005'))
    assert not np.array_equal(first, run(MotionBlurCorruption(3, seed=1), img_id='000005'))
    # without an id, the file name (not the folder) keys the image
    np.testing.assert_array_equal(run(t, img_path='/x/a.jpg'), run(t, img_path='/y/a.jpg'))
    with pytest.raises(KeyError, match="'img_id' or 'img_path'"):
        t(dict(img=img))


def _samples(n, boxes):
    samples = []
    for i in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(64, 64)))
        s.gt_instances = InstanceData(bboxes=boxes[i].clone(), labels=torch.tensor([i]))
        samples.append(s)
    return samples


def test_batch_augment_keeps_sharp_views_and_shares_boxes():
    torch.manual_seed(0)
    inputs = torch.randn(3, 3, 64, 64)
    boxes = torch.tensor([[[4., 5., 30., 40.]], [[1., 2., 3., 4.]], [[10., 10., 60., 50.]]])
    aug = MODELS.build(dict(type='MotionBlurBatchAugment', keep_sharp=True, severities=[2, 3]))
    torch.manual_seed(1)
    blurred, samples = aug(inputs.clone(), _samples(3, boxes))
    assert blurred.shape == inputs.shape
    torch.testing.assert_close(sharp_views(samples, 'test'), inputs)
    for i, s in enumerate(samples):
        assert not torch.allclose(blurred[i], inputs[i])  # prob=1: all blurred
        torch.testing.assert_close(s.gt_instances.bboxes, boxes[i])  # same boxes for both views
    # the same seed gives the same batch
    torch.manual_seed(1)
    again, _ = aug(inputs.clone(), _samples(3, boxes))
    torch.testing.assert_close(again, blurred)


def test_batch_augment_probability_and_missing_sharp_view():
    inputs = torch.randn(4, 3, 64, 64)
    boxes = torch.zeros(4, 1, 4)
    torch.manual_seed(0)
    out, samples = MotionBlurBatchAugment(prob=0.0)(inputs, _samples(4, boxes))
    assert out is inputs and all(SHARP_KEY not in s for s in samples)
    with pytest.raises(KeyError, match="MotionBlurBatchAugment', keep_sharp=True"):
        sharp_views(samples, 'BlurSKDTeacher')
    torch.manual_seed(0)
    out, _ = MotionBlurBatchAugment(prob=0.5)(inputs, _samples(4, boxes))
    changed = [not torch.equal(out[i], inputs[i]) for i in range(4)]
    aug = MotionBlurBatchAugment(prob=0.5)
    torch.manual_seed(0)
    blurred_count = sum(k.shape != (1, 1) for k in aug.sample_kernels(4))
    assert sum(changed) == blurred_count
    counts = []
    for seed in range(20):
        torch.manual_seed(seed)
        counts.append(sum(k.shape != (1, 1) for k in aug.sample_kernels(10)))
    assert 0.3 < np.mean(counts) / 10 < 0.7


def test_batch_augment_ranks_draw_different_kernels_from_the_same_seed(monkeypatch):
    import skd_det.models.data_preprocessors.motion_blur_augment as module
    aug = MotionBlurBatchAugment(severities=[3], kernel_types=['trajectory'])

    def kernels(rank):
        monkeypatch.setattr(module, 'get_rank', lambda: rank)
        torch.manual_seed(0)
        out = aug.sample_kernels(2)
        next_draw = torch.rand(1)  # every rank leaves the global generator alike
        return out, next_draw

    (rank0, after0), (again, _), (rank1, after1) = kernels(0), kernels(0), kernels(1)
    for a, b, c in zip(rank0, again, rank1):
        np.testing.assert_array_equal(a, b)  # deterministic per seed and rank
        assert a.shape == c.shape and not np.array_equal(a, c)
    torch.testing.assert_close(after0, after1, rtol=0, atol=0)
