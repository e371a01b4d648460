# Copyright (c) skd_det contributors.
"""LGD's label encoder: ground-truth objects -> label embeddings."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from .utils import image_index, max_per_image


def _linear_ln_relu(in_dims: int, out_dims: int) -> nn.Sequential:
    """Linear, LayerNorm without affine parameters, ReLU: every layer of the
    authors' label encoder (1x1 ``Conv1d`` there, a linear map per
    object)."""
    return nn.Sequential(
        nn.Linear(in_dims, out_dims), nn.LayerNorm(out_dims, elementwise_affine=False),
        nn.ReLU(inplace=True))


def _mlp(dims: Sequence[int]) -> nn.Sequential:
    """:func:`_linear_ln_relu` layers ``dims[0] -> ... -> dims[-1]``."""
    return nn.Sequential(*[_linear_ln_relu(a, b) for a, b in zip(dims, dims[1:])])


class _SpatialTransform(nn.Module):
    """PointNet's T-net as the authors use it: a (k, k) matrix for each
    object from that object's descriptor alone (their max-pool runs over a
    length-1 axis), applied to it; no identity added::

        k -> 64 -> 128 -> 1024 -> 512 -> 256   (:func:`_linear_ln_relu`)
        -> linear 256 -> k*k
    """

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.mlp = _mlp([k, 64, 128, 1024, 512, 256])
        self.matrix = nn.Linear(256, k * k)

    def forward(self, x: Tensor) -> Tensor:
        """(M, k) -> (M, k): ``x_i @ T(x_i)``."""
        mats = self.matrix(self.mlp(x)).view(-1, self.k, self.k)
        return torch.bmm(x.unsqueeze(1), mats).squeeze(1)


@MODELS.register_module()
class LGDLabelEncoder(BaseModule):
    """Label encoder of LGD: ground-truth objects -> label embeddings.

    Label descriptor of an object of class ``c`` with box ``(x1, y1, x2,
    y2)`` in a batch padded to (H_pad, W_pad)::

        d = 2 * [x1/W_pad, y1/H_pad, x2/W_pad, y2/H_pad, onehot_C(c)] - 1

    (:meth:`build_objects`). A PointNet-like encoder (the authors'
    ``LabelEncoder``; every layer is :func:`_linear_ln_relu`, i.e. followed
    by a LayerNorm without affine parameters; no batch norm) maps them::

        x   = T_k(d)                      per-object k x k transform
        l   = T_64(MLP_k->64(x))          per-object 64 x 64 transform
        g   = max over the image's objects of MLP_64->128->1024(l)
        e   = MLP_1088->D([l, g])
        out = MLP_D->D(e)                 the canonical projection

    The canonical projection is the authors' ``canoni_proj_1D`` of the
    dynamic teacher, applied to the label embedding before the attention.

    Args:
        num_classes (int): C, the detector's number of classes.
        embed_dims (int): D. Defaults to 256.
        context (bool): Add the whole-image context object to every image
            (on in the authors' RetinaNet configs, off in their FCOS R50
            config). Defaults to True.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int = 256,
                 context: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'LGDLabelEncoder: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.context = bool(context)
        k = 4 + num_classes
        self.input_transform = _SpatialTransform(k)
        self.local_mlp = _linear_ln_relu(k, 64)
        self.feature_transform = _SpatialTransform(64)
        self.global_mlp = _mlp([64, 128, 1024])
        self.fuse = _linear_ln_relu(64 + 1024, embed_dims)
        self.canonical_proj = _linear_ln_relu(embed_dims, embed_dims)

    def build_objects(self, bboxes: Sequence[Tensor], labels: Sequence[Tensor],
                      img_shapes: Sequence[Tuple[int, int]],
                      pad_shape: Tuple[int, int]) -> Tuple[Tensor, Tensor, List[int]]:
        """The objects of a batch: descriptors, boxes, counts per image.

        Per image of size (H, W) (``img_shape``) in a batch padded to
        (H_pad, W_pad) (``batch_input_shape``):

        - boxes are clipped to the image; a box with no area left (zero
          width or height, or wholly outside the image) is no object (a
          guard of this port: the authors' data has no such boxes);
        - an image with objects gets, with ``context``, the context object
          appended last: box (0, 0, W_pad, H_pad), class part all -1;
        - an image left with no object gets the authors' dummy object
          instead: box (0, 0, 1, 1), class part all -1, with or without
          ``context`` (so with ``context`` it is the image's context);
        - the boxes are then clamped to ``[0, W_pad-1] x [0, H_pad-1]``
          (the authors' ``clamp_x1y1x2y2``) and normalised by the padded
          size.

        Ignored (crowd) boxes are not passed in: the wrapper gives only the
        ``gt_instances``, not the ``gt_instances_ignore``.

        Args:
            bboxes (Sequence[Tensor]): Per image, (K_n, 4) boxes in input
                pixels.
            labels (Sequence[Tensor]): Per image, (K_n,) classes in
                ``[0, num_classes)``.
            img_shapes (Sequence[tuple]): Per image, (H, W).
            pad_shape (tuple): (H_pad, W_pad) of the batch.

        Returns:
            tuple: descriptors (M, 4 + C), boxes (M, 4) in input pixels,
            and the number of objects of each image (list of int).

        Raises:
            ValueError: A label is outside ``[0, num_classes)``.
        """
        pad_h, pad_w = float(pad_shape[0]), float(pad_shape[1])
        descriptors, boxes, counts = [], [], []
        for box, label, (h, w) in zip(bboxes, labels, img_shapes):
            label = label.long()
            if label.numel() and (int(label.min()) < 0 or int(label.max()) >= self.num_classes):
                raise ValueError(f'LGDLabelEncoder: ground-truth labels must lie in '
                                 f'[0, {self.num_classes}) (label_encoder.num_classes), '
                                 f'got {sorted(set(label.tolist()))}')
            box = torch.minimum(box.float().clamp(min=0), box.new_tensor([w, h, w, h]).float())
            keep = (box[:, 2] > box[:, 0]) & (box[:, 3] > box[:, 1])
            box, label = box[keep], label[keep]
            onehot = F.one_hot(label, self.num_classes).to(box.dtype)
            extra = None
            if not len(box):
                extra = [0., 0., 1., 1.]
            elif self.context:
                extra = [0., 0., pad_w, pad_h]
            if extra is not None:
                box = torch.cat([box, box.new_tensor([extra])])
                onehot = torch.cat([onehot, onehot.new_zeros(1, self.num_classes)])
            box = torch.minimum(
                box.clamp(min=0), box.new_tensor([pad_w - 1, pad_h - 1, pad_w - 1, pad_h - 1]))
            scale = box.new_tensor([pad_w, pad_h, pad_w, pad_h])
            descriptors.append(torch.cat([box / scale, onehot], 1) * 2 - 1)
            boxes.append(box)
            counts.append(len(box))
        return torch.cat(descriptors), torch.cat(boxes), counts

    def forward(self, descriptors: Tensor, counts: Sequence[int]) -> Tensor:
        """(M, 4 + C) descriptors -> (M, D) label embeddings."""
        local = self.feature_transform(self.local_mlp(self.input_transform(descriptors)))
        pooled = max_per_image(self.global_mlp(local), counts)
        pooled = pooled[image_index(counts, local.device)]
        return self.canonical_proj(self.fuse(torch.cat([local, pooled], 1)))
