# Copyright (c) skd_det contributors.
"""Training-only building blocks of LGD.

"LGD: Label-guided Self-distillation for Object Detection" (Zhang et al.,
AAAI 2022, https://arxiv.org/abs/2109.11496), after the authors' code
(megvii-research/LGD, ``models/customized_detectors/dynamic_teacher/``). The
teacher representation is built from the ground truth and the student's own
FPN features::

    descriptors (M, 4+C) --LGDLabelEncoder--------> label emb.  (M, D)
    FPN level l (N, C_in, H_l, W_l) --LGDAppearanceEncoder--> (L, M, D)
    LGDRelationAdapter(query=appearance, key=value=label)    -> (L, M, D)
    LGDKnowledgeMapper: scatter into the boxes, refine -> L x (N, C, H_l, W_l)

The M objects of a batch are concatenated image after image; ``counts``
gives the number of objects of each image (every image has at least one,
see :meth:`LGDLabelEncoder.build_objects`); with the context object on, the
last object of every image is its context object. No module mixes objects
of different images: layer and group norms without batch statistics, the
global max per image, attention limited to the objects of one image.

Pure torch, registered in mmengine's root ``MODELS`` registry.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor


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


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


def _group_norm(channels: int) -> nn.GroupNorm:
    """One group, no affine parameters (the authors' ``get_norm``)."""
    return nn.GroupNorm(1, channels, affine=False)


def image_index(counts: Sequence[int], device=None) -> Tensor:
    """(M,) image of each concatenated object: ``[0]*counts[0] + [1]*...``."""
    return torch.repeat_interleave(
        torch.arange(len(counts), device=device), torch.as_tensor(list(counts), device=device))


def block_diagonal_mask(counts: Sequence[int], device=None) -> Tensor:
    """(M, M) bool attention mask, True where object ``i`` may NOT attend
    to object ``j``: everywhere except between objects of the same image
    (``nn.MultiheadAttention``'s boolean ``attn_mask`` convention)."""
    img = image_index(counts, device)
    return img[:, None] != img[None, :]


def max_per_image(x: Tensor, counts: Sequence[int]) -> Tensor:
    """(M, D) -> (N, D): max over the objects of each image."""
    return torch.stack([part.max(0).values for part in x.split(list(counts))])


def box_cell_masks(boxes: Tensor, size: Tuple[int, int], pad_shape: Tuple[int, int]) -> Tensor:
    """The authors' box -> cells rule, as (M, H*W) 0/1 floats.

    With ``r_x = W / W_pad`` and ``r_y = H / H_pad`` (feature size over the
    padded batch input size), cell ``(i, j)`` (row, column, counted from 0)
    is inside box ``(x1, y1, x2, y2)`` iff::

        x1 * r_x <= j <= x2 * r_x   and   y1 * r_y <= i <= y2 * r_y

    (the authors' ``get_inside_gt_mask``: ``|cell - centre| / size <= 1/2``
    in feature coordinates). A box that contains no cell coordinate, e.g. a
    small box on a coarse level, owns no cell there.

    Args:
        boxes (Tensor): (M, 4) boxes in input pixels.
        size (tuple[int, int]): The map's (H, W).
        pad_shape (tuple[int, int]): The padded batch input's (H_pad, W_pad).

    Returns:
        Tensor: (M, H*W), dtype of ``boxes``.
    """
    h, w = int(size[0]), int(size[1])
    cols = torch.arange(w, device=boxes.device, dtype=boxes.dtype)
    rows = torch.arange(h, device=boxes.device, dtype=boxes.dtype)
    xs = boxes[:, 0::2] * (w / pad_shape[1])
    ys = boxes[:, 1::2] * (h / pad_shape[0])
    in_cols = (cols >= xs[:, :1]) & (cols <= xs[:, 1:])
    in_rows = (rows >= ys[:, :1]) & (rows <= ys[:, 1:])
    return (in_rows[:, :, None] & in_cols[:, None, :]).flatten(1).to(boxes.dtype)


def box_overlap_masks(boxes: Tensor, size: Tuple[int, int], pad_shape: Tuple[int, int]) -> Tensor:
    """An alternative to :func:`box_cell_masks` (not the authors'): the
    cells a box overlaps, at least one.

    Cell ``(i, j)`` covers the input pixels ``[j*s_x, (j+1)*s_x) x [i*s_y,
    (i+1)*s_y)``, ``s = pad / size``; box ``(x1, y1, x2, y2)`` covers
    columns ``floor(x1/s_x) .. ceil(x2/s_x)-1`` and the rows alike, clipped
    to the map and at least one cell wide, so a box smaller than a cell of
    a coarse level still owns the cell it lies in. Same arguments and
    result as :func:`box_cell_masks`.
    """
    h, w = int(size[0]), int(size[1])
    sx, sy = pad_shape[1] / w, pad_shape[0] / h

    def span(lo, hi, s, n):
        start = torch.floor(lo / s).clamp(0, n - 1)
        end = torch.maximum(torch.ceil(hi / s).clamp(max=n), start + 1)
        return start, end

    x0, x1 = span(boxes[:, 0], boxes[:, 2], sx, w)
    y0, y1 = span(boxes[:, 1], boxes[:, 3], sy, h)
    cols = torch.arange(w, device=boxes.device, dtype=boxes.dtype)
    rows = torch.arange(h, device=boxes.device, dtype=boxes.dtype)
    in_cols = (cols >= x0[:, None]) & (cols < x1[:, None])
    in_rows = (rows >= y0[:, None]) & (rows < y1[:, None])
    return (in_rows[:, :, None] & in_cols[:, None, :]).flatten(1).to(boxes.dtype)


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


@MODELS.register_module()
class LGDAppearanceEncoder(BaseModule):
    """Appearance embeddings of LGD: per object and FPN level, the average
    of ``ReLU(GN_1(conv3x3(F_l)))`` (group norm without affine parameters)
    over the cells of the object's mask. The conv is shared by the levels.

    Args:
        in_channels (int): Width of the student's FPN levels.
        embed_dims (int): D. Defaults to 256.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.conv = _conv3x3(in_channels, embed_dims)
        self.norm = _group_norm(embed_dims)

    @staticmethod
    def masked_average(feat: Tensor, masks: Tensor, counts: Sequence[int]) -> Tensor:
        """(N, D, H, W) map, (M, H*W) masks -> (M, D) mean inside each
        mask (zero for an empty mask), the objects of image ``n`` reading
        ``feat[n]``. The masks are normalised before the product: summing
        up to H*W cells first could overflow in half precision (AMP)."""
        out = [(m / m.sum(1, keepdim=True).clamp(min=1)) @ f.flatten(1).t()
               for f, m in zip(feat, masks.split(list(counts)))]
        return torch.cat(out)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                counts: Sequence[int]) -> Tensor:
        """L levels (N, C_in, H_l, W_l) and their (M, H_l*W_l) masks ->
        (L, M, D)."""
        return torch.stack([
            self.masked_average(F.relu(self.norm(self.conv(f))), m.to(f.dtype), counts)
            for f, m in zip(feats, masks)
        ])


@MODELS.register_module()
class LGDRelationAdapter(BaseModule):
    """Inter-object relation adapter of LGD: multi-head attention with the
    appearance embeddings as queries and the label embeddings as keys and
    values, each object attending to the objects of its own image only
    (:func:`block_diagonal_mask`), per level; no residual connection.

    Args:
        embed_dims (int): D. Defaults to 256.
        num_heads (int): Defaults to 8.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, batch_first=True)

    def forward(self, appearance: Tensor, labels: Tensor, counts: Sequence[int]) -> Tensor:
        """(L, M, D) appearance, (M, D) label embeddings -> (L, M, D)."""
        mask = block_diagonal_mask(counts, appearance.device)
        kv = labels.to(appearance.dtype).expand(appearance.shape[0], -1, -1)
        out, _ = self.attn(appearance, kv, kv, attn_mask=mask, need_weights=False)
        return out


@MODELS.register_module()
class LGDKnowledgeMapper(BaseModule):
    """Intra-object knowledge mapper of LGD (the authors' ``rendering`` and
    ``refinement_module``). Per level, each object's embedding is projected
    (linear D -> C) and added onto the cells of its mask (overlapping
    objects sum), then::

        X = conv3x3(scatter)                                   (N, C, H, W)
        X = ReLU(X + linear_ctx(context embedding))    with ``context``
        X = ReLU(X)                                    without
        teacher map = [conv3x3, GN_1, ReLU] x 2, conv3x3, GN_1 of X

    With ``context`` the last object of each image is its context object:
    it is not scattered, its own linear projection is added to every cell
    as a per-channel bias. Group norms without affine parameters; all
    layers are shared by the levels.

    Args:
        embed_dims (int): D. Defaults to 256.
        out_channels (int): C, the width of the student's FPN (its head's
            ``in_channels``). Defaults to 256.
        context (bool): The last object of each image is a context object.
            Defaults to True.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 out_channels: int = 256,
                 context: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        c = out_channels
        self.context = bool(context)
        self.proj = nn.Linear(embed_dims, c)
        self.local_conv = _conv3x3(c, c)
        # the authors build it also without context, unused: here only with
        self.context_proj = nn.Linear(embed_dims, c) if context else None
        self.refine = nn.Sequential(
            _conv3x3(c, c), _group_norm(c), nn.ReLU(inplace=True), _conv3x3(c, c), _group_norm(c),
            nn.ReLU(inplace=True), _conv3x3(c, c), _group_norm(c))

    @staticmethod
    def scatter(obj_feats: Tensor, masks: Tensor, counts: Sequence[int],
                size: Tuple[int, int]) -> Tensor:
        """(M, C) object features, (M, H*W) masks -> (N, C, H, W): each
        image's map is the sum of its objects' features over their cells
        (zero for an image with no object here)."""
        maps = [
            o.t() @ m.to(o.dtype)
            for o, m in zip(obj_feats.split(list(counts)), masks.split(list(counts)))
        ]
        return torch.stack(maps).unflatten(2, tuple(size))

    def forward(self, obj_feats: Tensor, masks: Sequence[Tensor], counts: Sequence[int],
                sizes: Sequence[Tuple[int, int]]) -> List[Tensor]:
        """(L, M, D) object embeddings, L masks (M, H_l*W_l), L sizes ->
        L teacher maps (N, C, H_l, W_l)."""
        counts = list(counts)
        if self.context:
            last = torch.as_tensor(counts, device=obj_feats.device).cumsum(0) - 1
            inst = torch.ones(obj_feats.shape[1], dtype=torch.bool, device=obj_feats.device)
            inst[last] = False
            inst_counts = [n - 1 for n in counts]
        outs = []
        for obj, mask, size in zip(obj_feats, masks, sizes):
            if self.context:
                local = self.local_conv(
                    self.scatter(self.proj(obj[inst]), mask[inst], inst_counts, size))
                bias = self.context_proj(obj[last])[:, :, None, None]
                x = F.relu(local + bias)
            else:
                x = F.relu(self.local_conv(self.scatter(self.proj(obj), mask, counts, size)))
            outs.append(self.refine(x))
        return outs


@MODELS.register_module()
class LGDStudentAdapter(BaseModule):
    """Adapter on the student's FPN levels before LGD's feature loss (the
    authors' ``SequentialConvs``)::

        conv3x3, ReLU, conv3x3, ReLU, conv3x3          shared by the levels

    Args:
        channels (int): Width of the student's FPN (in and out).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, channels: int, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(
            _conv3x3(channels, channels), nn.ReLU(inplace=True), _conv3x3(channels, channels),
            nn.ReLU(inplace=True), _conv3x3(channels, channels))

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """L levels (N, C_in, H_l, W_l) -> L adapted levels, same shapes."""
        return [self.layers(f) for f in feats]


def level_sizes(img_size: Tuple[int, int],
                strides: Sequence[Tuple[float, float]]) -> List[Tuple[int, int]]:
    """(H_l, W_l) = (ceil(H / s_y), ceil(W / s_x)) per level: the sizes of
    ResNet/FPN maps (padding 1, stride 2 convs) for an (H, W) input."""
    h, w = img_size
    return [(math.ceil(h / sy), math.ceil(w / sx)) for sx, sy in strides]
