# Copyright (c) skd_det contributors.
"""The LGD teacher probe: label-embedding similarity and attention on an object's own label,
by hand on a relation adapter with known weights."""
from types import SimpleNamespace

import pytest
import torch

from skd_det.analysis.lgd_probe import relation_stats
from skd_det.models.layers.lgd import LGDRelationAdapter
from skd_det.testing import load_tool
from skd_det.utils import InputError


def identity_adapter(dims=8, scale=10.):
    """One head whose query and key projections are ``scale`` x identity: the attention
    logits are scale^2 * <appearance, label> / sqrt(dims)."""
    adapter = LGDRelationAdapter(embed_dims=dims, num_heads=1)
    with torch.no_grad():
        adapter.attn.in_proj_weight.copy_(torch.cat([torch.eye(dims) * scale] * 3))
        adapter.attn.in_proj_bias.zero_()
    return adapter


def test_alike_labels_give_uniform_attention():
    adapter = identity_adapter()
    counts = [3, 4]
    labels = torch.ones(7, 8)
    appearance = torch.randn(2, 7, 8)
    stats = relation_stats(adapter, appearance, labels, counts)
    assert stats['label_cosine'] == pytest.approx([1., 1.])
    assert stats['self_attention'] == pytest.approx([1 / 3, 1 / 4])
    assert stats['uniform'] == pytest.approx([1 / 3, 1 / 4])


def test_distinct_labels_matching_the_appearance_draw_attention_to_themselves():
    adapter = identity_adapter()
    # image 0: two orthogonal labels; image 1: a single object (skipped)
    labels = torch.eye(8)[:3]
    appearance = labels.expand(1, -1, -1)  # each query equals its own label
    stats = relation_stats(adapter, appearance, labels, [2, 1])
    assert stats['uniform'] == [0.5]
    assert stats['label_cosine'] == pytest.approx([0.])
    # logits 100 / sqrt(8) on itself against 0 on the other object
    own = torch.tensor(100 / 8**0.5).exp()
    assert stats['self_attention'] == pytest.approx([(own / (own + 1)).item()])


def test_probe_refuses_a_model_without_an_lgd_teacher():
    tool = load_tool('tools/analysis/lgd_teacher_probe.py')
    runner = SimpleNamespace(model=torch.nn.Linear(2, 2))
    with pytest.raises(InputError, match='no LGD teacher'):
        tool.probe(runner, batches=1)
