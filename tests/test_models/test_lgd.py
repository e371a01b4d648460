# Copyright (c) skd_det contributors.
"""LGD building blocks against hand-computed values and the authors' structure
(megvii-research/LGD e03357d): label descriptors (padded-shape normalisation, context and dummy
objects), the label encoder's layers, per-object T-nets, per-image isolation of the relation
adapter, the box -> cells rule, masked pooling, the knowledge mapper's scatter and context
bias, and the feature loss's level weighting. The teacher through a detector is in
test_lgd_teacher.py."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from skd_det.models.layers.lgd import (LGDAppearanceEncoder, LGDKnowledgeMapper, LGDLabelEncoder,
                                       LGDRelationAdapter, block_diagonal_mask, box_cell_masks,
                                       box_overlap_masks)
from skd_det.models.losses import InstanceNormMSELoss

pytestmark = pytest.mark.usefixtures('one_thread')


def n_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------------------- label encoder


def test_descriptors_for_known_boxes():
    enc = LGDLabelEncoder(num_classes=3, embed_dims=16, context=True)
    boxes = [
        torch.tensor([
            [20., 10., 120., 60.],  # inside: kept
            [-10., 50., 250., 120.],  # crosses the border: clipped to the image
            [30., 30., 30., 40.],  # zero width: dropped
            [210., 0., 260., 50.]
        ]),  # right of the image: no area left, dropped
        torch.zeros(0, 4)
    ]  # empty image
    labels = [torch.tensor([2, 0, 1, 1]), torch.zeros(0, dtype=torch.long)]
    # images of 100x200 and 50x50 in a batch padded to 128x256: normalised by the padded size
    desc, kept, counts = enc.build_objects(boxes, labels, [(100, 200), (50, 50)], (128, 256))
    expected = torch.tensor([
        [2 * 20 / 256 - 1, 2 * 10 / 128 - 1, 2 * 120 / 256 - 1, 2 * 60 / 128 - 1, -1., -1., 1.],
        [-1., 2 * 50 / 128 - 1, 2 * 200 / 256 - 1, 2 * 100 / 128 - 1, 1., -1., -1.],
        # context: the padded image, clamped to (W_pad - 1, H_pad - 1), no class
        [-1., -1., 2 * 255 / 256 - 1, 2 * 127 / 128 - 1, -1., -1., -1.],
        # the empty image: the authors' dummy box (0, 0, 1, 1), no class, no context added
        [-1., -1., 2 / 256 - 1, 2 / 128 - 1, -1., -1., -1.]
    ])
    torch.testing.assert_close(desc, expected)
    assert counts == [3, 1]
    torch.testing.assert_close(
        kept,
        torch.tensor([[20., 10., 120., 60.], [0., 50., 200., 100.], [0., 0., 255., 127.],
                      [0., 0., 1., 1.]]))
    # a box touching the padded border is clamped to the last pixel (the authors' clamp)
    _, kept, _ = enc.build_objects([torch.tensor([[0., 0., 256., 128.]])], [torch.tensor([1])],
                                   [(128, 256)], (128, 256))
    torch.testing.assert_close(kept[0], torch.tensor([0., 0., 255., 127.]))

    # without context: the empty image keeps the dummy object, the other image has no context
    enc.context = False
    desc, kept, counts = enc.build_objects(boxes, labels, [(100, 200), (50, 50)], (128, 256))
    assert counts == [2, 1]
    torch.testing.assert_close(desc, expected[[0, 1, 3]])

    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\).*\[3\]'):
        enc.build_objects([torch.tensor([[0., 0., 5., 5.]])], [torch.tensor([3])], [(10, 10)],
                          (10, 10))


def test_label_encoder_layers_as_the_authors():
    """label_encoder.py:147-160 and spatial_transformer.py:9-20: 1x1 convs (linear maps) each
    followed by a LayerNorm without affine parameters, no batch norm; 1088 -> 256; then the
    dynamic teacher's canonical projection (dynamic_teacher.py:56, 229) Linear, LayerNorm, ReLU."""
    enc = LGDLabelEncoder(num_classes=80, embed_dims=256)
    norms = [m for m in enc.modules() if isinstance(m, nn.LayerNorm)]
    linears = [m for m in enc.modules() if isinstance(m, nn.Linear)]
    assert len(norms) == 2 * 5 + 5 and not any(m.elementwise_affine for m in norms)
    assert not [m for m in enc.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(linears) == 2 * 6 + 5
    assert (enc.fuse[0].in_features, enc.fuse[0].out_features) == (1088, 256)
    # parameters of the authors' layers, k = 4 + 80: STN(84) 2,615,376 + STN(64) 1,853,376 +
    # conv1..conv4 424,640 + canonical projection 65,792
    assert n_params(enc.input_transform) == 2615376
    assert n_params(enc.feature_transform) == 1853376
    assert n_params(enc) == 4959184


def test_label_encoder_forward_by_hand():
    """The order of the authors' forward (label_encoder.py:238-274): per-object T-net on the
    descriptor, conv1 + LN + ReLU, per-object T-net on those features (not followed by a
    ReLU), conv2/conv3 + LN + ReLU, max over the image's objects *after* the ReLU, [local,
    global] -> conv4 + LN + ReLU; then the canonical projection."""
    torch.manual_seed(0)
    enc = LGDLabelEncoder(num_classes=2, embed_dims=8)
    x = torch.randn(5, 6)
    counts = [3, 2]

    def unit(seq, v):  # Linear, LayerNorm (no affine), ReLU
        return F.relu(F.layer_norm(seq[0](v), (seq[0].out_features, )))

    def tnet(t, v):
        h = v
        for layer in t.mlp:
            h = unit(layer, h)
        mats = t.matrix(h).view(-1, t.k, t.k)  # no identity added (spatial_transformer.py:42)
        return torch.stack([v[i] @ mats[i] for i in range(len(v))])

    local = tnet(enc.feature_transform, unit(enc.local_mlp, tnet(enc.input_transform, x)))
    g = unit(enc.global_mlp[1], unit(enc.global_mlp[0], local))
    pooled = torch.stack([g[:3].max(0).values] * 3 + [g[3:].max(0).values] * 2)
    expected = unit(enc.canonical_proj, unit(enc.fuse, torch.cat([local, pooled], 1)))
    out = enc(x, counts)
    torch.testing.assert_close(out, expected)
    assert (out >= 0).all()  # ends with a ReLU
    # T-nets are per object: changing object 4 leaves the first image's embeddings unchanged
    # and object 3's local feature unchanged
    x2 = x.clone()
    x2[4] += 3
    out2 = enc(x2, counts)
    torch.testing.assert_close(out2[:3], out[:3])
    local2 = enc.feature_transform(enc.local_mlp(enc.input_transform(x2)))
    torch.testing.assert_close(local2[3], local[3])
    # no identity shortcut: a zero matrix layer maps everything to zero
    nn.init.zeros_(enc.input_transform.matrix.weight)
    nn.init.zeros_(enc.input_transform.matrix.bias)
    assert enc.input_transform(x).abs().sum() == 0


def test_relation_adapter_never_attends_across_images():
    torch.manual_seed(0)
    enc = LGDLabelEncoder(num_classes=4, embed_dims=16, context=False)
    adapter = LGDRelationAdapter(embed_dims=16, num_heads=4)
    mask = block_diagonal_mask([2, 3])
    expected = torch.ones(5, 5, dtype=torch.bool)
    expected[:2, :2] = False
    expected[2:, 2:] = False
    assert torch.equal(mask, expected)

    def run(boxes_b, labels_b, appearance_b, with_mask=True):
        desc, _, counts = enc.build_objects(
            [torch.tensor([[0., 0., 8., 8.], [4., 2., 30., 20.]]), boxes_b],
            [torch.tensor([1, 3]), labels_b], [(32, 32), (32, 32)], (32, 32))
        assert counts == [2, len(boxes_b)]
        labels = enc(desc, counts)
        appearance = torch.cat([torch.linspace(-1, 1, 2 * 2 * 16).view(2, 2, 16), appearance_b],
                               dim=1)
        if not with_mask:  # a mutant without the mask must fail this test's assertion
            counts = [sum(counts)]
        return adapter(appearance, labels, counts)

    g = torch.Generator().manual_seed(1)
    out = run(
        torch.tensor([[1., 1., 9., 9.], [0., 0., 32., 32.]]), torch.tensor([0, 2]),
        torch.randn(2, 2, 16, generator=g))
    # image B: other boxes, other classes, other appearance and one object more
    out2 = run(
        torch.tensor([[5., 6., 20., 30.], [2., 2., 3., 3.], [0., 10., 12., 31.]]),
        torch.tensor([3, 3, 1]), 10 * torch.randn(2, 3, 16, generator=g))
    torch.testing.assert_close(out2[:, :2], out[:, :2], rtol=1e-6, atol=1e-6)
    assert not torch.allclose(out2[:, 2:4], out[:, 2:4])
    leak = run(
        torch.tensor([[5., 6., 20., 30.]]),
        torch.tensor([3]),
        10 * torch.randn(2, 1, 16, generator=g),
        with_mask=False)
    assert not torch.allclose(leak[:, :2], out[:, :2], rtol=1e-3, atol=1e-3)


# ------------------------------------------------------------------------- box -> cells


def cells(mask, size):
    return mask.view(*size).nonzero().tolist()


def test_box_cells_by_the_authors_rule():
    """dynamic_teacher/utils.py:54-89: cell c inside iff x1*r <= c <= x2*r, r = feature size /
    padded input size; small boxes may own no cell."""
    boxes = torch.tensor([
        [3., 9., 20., 17.],  # x 0.375..2.5, y 1.125..2.125 (r = 1/8)
        [0., 0., 47., 31.],  # the whole 32x48 input
        [40., 25., 41., 26.],  # y 3.125..3.25: no row, no cell
        [8., 8., 16., 16.]
    ])  # x, y 1..2: both ends inclusive
    masks = box_cell_masks(boxes, (4, 6), (32, 48))
    assert masks.shape == (4, 24) and masks.dtype == torch.float32
    assert cells(masks[0], (4, 6)) == [[2, 1], [2, 2]]
    assert masks[1].sum() == 24
    assert masks[2].sum() == 0
    assert cells(masks[3], (4, 6)) == [[1, 1], [1, 2], [2, 1], [2, 2]]
    # different ratios per axis: r_x = 3/48, r_y = 4/32
    assert cells(box_cell_masks(torch.tensor([[17., 0., 33., 7.]]), (4, 3), (32, 48))[0],
                 (4, 3)) == [[0, 2]]
    # a padded size that the level does not divide: r = 13/100, x2 * r = 6.5 -> cells 0..6
    assert box_cell_masks(torch.tensor([[0., 0., 50., 50.]]), (13, 13), (100, 100)).sum() == 49
    # the option: every overlapped cell, at least one
    over = box_overlap_masks(boxes, (4, 6), (32, 48))
    assert over.sum(1).tolist() == [6., 24., 1., 1.]  # [8, 16) is one cell of stride 8
    assert cells(over[2], (4, 6)) == [[3, 5]]


def test_masked_pooling_by_hand_and_empty_masks():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 5, 4, 6, generator=g)
    boxes = torch.tensor([[3., 9., 20., 17.], [0., 0., 47., 31.], [40., 25., 41., 26.]])
    masks = box_cell_masks(boxes, (4, 6), (32, 48))
    pooled = LGDAppearanceEncoder.masked_average(feat, masks, [2, 1])
    torch.testing.assert_close(pooled[0], feat[0, :, 2, 1:3].mean(1))
    torch.testing.assert_close(pooled[1], feat[0].mean((1, 2)))
    assert pooled[2].abs().sum() == 0  # no cell: a zero embedding (the authors' normaliser >= 1)

    enc = LGDAppearanceEncoder(in_channels=5, embed_dims=7)
    assert not enc.norm.affine and n_params(enc.norm) == 0  # dynamic_teacher.py:57 affine=False
    out = enc([feat], [masks], [2, 1])
    assert out.shape == (1, 3, 7)
    act = F.relu(F.group_norm(enc.conv(feat), 1))
    torch.testing.assert_close(out[0, 0], act[0, :, 2, 1:3].mean(1))


def test_masked_pooling_stays_finite_in_half_precision():
    # a 128x128 level whose values are near the float16 maximum: the sum over the cells
    # would overflow, their mean must not
    feat = torch.full((1, 2, 128, 128), 60000.0).half()
    feat[0, 1] = -30000.0
    masks = torch.ones(1, 128 * 128, dtype=torch.half)
    pooled = LGDAppearanceEncoder.masked_average(feat, masks, [1])
    assert pooled.dtype == torch.half
    torch.testing.assert_close(
        pooled.float(), torch.tensor([[60000.0, -30000.0]]), rtol=1e-3, atol=0)


# ---------------------------------------------------------------------- knowledge mapper


def test_knowledge_mapper_scatter_sums_overlaps():
    obj = torch.tensor([[1., 10.], [2., 20.], [4., 40.]])  # (M=3, C=2)
    boxes = torch.tensor([[0., 0., 8., 8.], [8., 8., 16., 16.], [0., 0., 0., 0.]])
    masks = box_cell_masks(boxes, (3, 4), (24, 32))
    maps = LGDKnowledgeMapper.scatter(obj, masks, [2, 1], (3, 4))
    expected = torch.zeros(2, 2, 3, 4)
    expected[0, :, 0:2, 0:2] += obj[0, :, None, None]
    expected[0, :, 1:3, 1:3] += obj[1, :, None, None]
    expected[1, :, 0, 0] += obj[2]
    torch.testing.assert_close(maps, expected)
    assert maps[0, 0, 1, 1] == 3.  # the overlap cell: 1 + 2
    # an image without objects to scatter: a zero map
    assert LGDKnowledgeMapper.scatter(obj[:2], masks[:2], [2, 0], (3, 4))[1].abs().sum() == 0


def test_knowledge_mapper_context_bias_by_hand():
    """dynamic_teacher.py:117-151 and 61-75: instances (all objects but each image's last)
    through the per-object linear, scattered, conv3x3; the context object (each image's last)
    through its own linear, added as a per-channel bias over all cells; ReLU; then the
    refinement [conv, GN, ReLU] x 2, conv, GN with group norms without affine parameters."""
    torch.manual_seed(0)
    mapper = LGDKnowledgeMapper(embed_dims=3, out_channels=4, context=True)
    norms = [m for m in mapper.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == 3 and not any(m.affine for m in norms)
    obj = torch.randn(1, 3, 3)  # image 0: one instance + context; image 1: context only
    masks = box_cell_masks(
        torch.tensor([[0., 0., 8., 8.], [0., 0., 23., 31.], [0., 0., 1., 1.]]), (3, 4), (24, 32))
    out = mapper(obj, [masks], [2, 1], [(3, 4)])[0]

    inst = torch.zeros(2, 4, 3, 4)
    inst[0, :, 0:2, 0:2] = mapper.proj(obj[0, 0])[:, None, None]
    bias = mapper.context_proj(obj[0, [1, 2]])[:, :, None, None]
    x = F.relu(mapper.local_conv(inst) + bias)
    torch.testing.assert_close(out, mapper.refine(x))
    # image 1 has no instance: before the refinement it is the same vector at every cell
    assert torch.allclose(x[1], x[1, :, :1, :1].expand_as(x[1]))
    # the context objects' masks are not used for the rendering
    masks2 = masks.clone()
    masks2[[1, 2]] = 0
    torch.testing.assert_close(mapper(obj, [masks2], [2, 1], [(3, 4)])[0], out)

    plain = LGDKnowledgeMapper(embed_dims=3, out_channels=4, context=False)
    assert plain.context_proj is None
    plain.load_state_dict(mapper.state_dict(), strict=False)
    scattered = LGDKnowledgeMapper.scatter(plain.proj(obj[0]), masks, [2, 1], (3, 4))
    torch.testing.assert_close(
        plain(obj, [masks], [2, 1], [(3, 4)])[0], plain.refine(F.relu(plain.local_conv(scattered))))


# ------------------------------------------------------------------------------------ loss


def test_instance_norm_mse_weights_levels_by_their_element_count():
    """base_distillator.py:59-64: the normalised levels are flattened, concatenated and
    F.mse_loss'ed: one mean over all elements. Level A (4 elements) has squared differences
    4/(1+eps) each, level B (16 elements) none: (16/(1+eps)) / 20, not the per-level-mean
    sum 4/(1+eps) + 0."""
    eps = 1e-5
    s_a = torch.tensor([[[[0., 2.], [0., 2.]]]], requires_grad=True)  # IN -> [-1, 1, -1, 1]
    t_a = torch.tensor([[[[2., 0.], [2., 0.]]]])  # IN -> [1, -1, 1, -1]
    s_b = torch.arange(16.).view(1, 1, 4, 4)
    loss = InstanceNormMSELoss(loss_weight=2.0)([s_a, s_b], [t_a, s_b * 3 + 1])
    torch.testing.assert_close(loss, torch.tensor(2.0 * 16 / (1 + eps) / 20))
    loss.backward()
    assert s_a.grad is not None


def test_instance_norm_mse_details():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    t = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    s1 = torch.randn(2, 3, 1, 1, generator=g)  # a 1x1 level normalises to zero
    loss = InstanceNormMSELoss()([s, s1], [t, 3 * s1])

    def norm(x):
        x = x.double()
        return (x - x.mean((2, 3), keepdim=True)) / (x.var(
            (2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()

    torch.testing.assert_close(loss.double(), (norm(s) - norm(t)).pow(2).sum() / (120 + 6))
    loss.backward()
    assert s.grad is not None and t.grad is None  # the teacher side is a target
    # invariant to a per-channel affine change of either side
    torch.testing.assert_close(
        InstanceNormMSELoss()([s * 3 + 1, s1], [t, 3 * s1]), loss, rtol=1e-4, atol=0)
    # float32 under autocast
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = InstanceNormMSELoss()(s.detach().bfloat16(), t.detach().bfloat16())
    assert low.dtype == torch.float32
    with pytest.raises(ValueError, match='level 0'):
        InstanceNormMSELoss()([s], [t[:, :2]])
