# Copyright (c) skd_det contributors.
"""Training-only building blocks of LGD.

"LGD: Label-guided Self-distillation for Object Detection" (Zhang et al.,
AAAI 2022, https://arxiv.org/abs/2109.11496). The teacher representation is
built from the ground truth and the student's own FPN features::

    descriptors (M, 4+C) --LGDLabelEncoder--------> label emb.  (M, D)
    FPN level l (N, C_in, H_l, W_l) --LGDAppearanceEncoder--> (L, M, D)
    LGDRelationAdapter(query=appearance, key=value=label)    -> (L, M, D)
    LGDKnowledgeMapper: scatter into the boxes, refine -> L x (N, C, H_l, W_l)

The M objects of a batch are concatenated image after image; ``counts``
gives the number of objects of each image (every image has at least one,
see :meth:`LGDLabelEncoder.build_objects`). No module mixes objects of
different images: no batch norm anywhere (its batch statistics would couple
the images), per-image max pooling and spatial transforms, attention limited
to the objects of one image, per-sample group norm.

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


def _mlp(dims: Sequence[int], last_act: bool = True) -> nn.Sequential:
    """Linear layers ``dims[0] -> ... -> dims[-1]`` with ReLU between (and
    after the last one if ``last_act``)."""
    layers = []
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        layers.append(nn.Linear(a, b))
        if last_act or i < len(dims) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def image_index(counts: Sequence[int], device=None) -> Tensor:
    """(M,) image of each concatenated object: ``[0]*counts[0] + [1]*...``."""
    return torch.repeat_interleave(
        torch.arange(len(counts), device=device),
        torch.as_tensor(list(counts), device=device))


def block_diagonal_mask(counts: Sequence[int], device=None) -> Tensor:
    """(M, M) bool attention mask, True where object ``i`` may NOT attend
    to object ``j``: everywhere except between objects of the same image
    (``nn.MultiheadAttention``'s boolean ``attn_mask`` convention)."""
    img = image_index(counts, device)
    return img[:, None] != img[None, :]


def max_per_image(x: Tensor, counts: Sequence[int]) -> Tensor:
    """(M, D) -> (N, D): max over the objects of each image."""
    return torch.stack([part.max(0).values for part in x.split(list(counts))])


def box_cell_masks(boxes: Tensor, size: Tuple[int, int],
                   stride: Tuple[float, float]) -> Tensor:
    """Cells of a feature map each box overlaps, as (M, H*W) 0/1 floats.

    Cell ``(r, c)`` of a level of stride ``(s_x, s_y)`` covers the input
    pixels ``[c*s_x, (c+1)*s_x) x [r*s_y, (r+1)*s_y)``; box ``(x1, y1, x2,
    y2)`` (input pixels) covers columns ``floor(x1/s_x) .. ceil(x2/s_x)-1``
    and the rows alike, clipped to the map and at least one cell wide, so a
    box smaller than a cell of a coarse level still owns the cell it lies
    in.

    Args:
        boxes (Tensor): (M, 4) boxes, x1 <= x2, y1 <= y2, inside the image.
        size (tuple[int, int]): The map's (H, W).
        stride (tuple[float, float]): The level's (s_x, s_y).

    Returns:
        Tensor: (M, H*W), dtype of ``boxes``.
    """
    h, w = int(size[0]), int(size[1])
    sx, sy = float(stride[0]), float(stride[1])

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
    return (in_rows[:, :, None] & in_cols[:, None, :]).flatten(1).to(
        boxes.dtype)


class _SpatialTransform(nn.Module):
    """PointNet's T-net over the objects of each image: a (k, k) matrix per
    image from max-pooled per-object features, applied to its objects.

    The last layer starts at zero so every transform starts as the
    identity (the descriptors pass unchanged at the first iterations).
    """

    def __init__(self, k: int, global_dims: int) -> None:
        super().__init__()
        self.k = k
        self.point_mlp = _mlp([k, 64, 128, global_dims])
        self.regress = _mlp([global_dims, 512, 256])
        self.matrix = nn.Linear(256, k * k)
        nn.init.zeros_(self.matrix.weight)
        nn.init.zeros_(self.matrix.bias)

    def forward(self, x: Tensor, counts: Sequence[int]) -> Tensor:
        pooled = max_per_image(self.point_mlp(x), counts)
        eye = torch.eye(self.k, device=x.device, dtype=x.dtype)
        mats = self.matrix(self.regress(pooled)).view(-1, self.k, self.k) + eye
        return torch.cat([
            part @ mat for part, mat in zip(x.split(list(counts)), mats)])


@MODELS.register_module()
class LGDLabelEncoder(BaseModule):
    """Label encoder of LGD: ground-truth objects -> label embeddings.

    Label descriptor of an object of class ``c`` with box ``(x1, y1, x2,
    y2)`` in an image of size (H, W)::

        d = 2 * [x1/W, y1/H, x2/W, y2/H, onehot_C(c)] - 1        in [-1, 1]

    (:meth:`build_objects`). A PointNet (segmentation variant, Qi et al.,
    CVPR 2017) encodes each image's set of descriptors: an input transform
    (k x k, k = 4 + C), a per-object MLP to ``local_dims`` (64), a feature
    transform (64 x 64), an MLP to ``global_dims`` (1024) max-pooled over
    the image, and ``[local, global]`` -> 512 -> ``embed_dims`` followed by
    a LayerNorm without affine parameters. The authors' encoder has batch
    norms; here there are none (see the module docstring).

    Args:
        num_classes (int): C, the detector's number of classes.
        embed_dims (int): D. Defaults to 256.
        context (bool): Add the whole-image context object to every image
            (on in the authors' RetinaNet configs). Defaults to True.
        local_dims (int): Defaults to 64.
        global_dims (int): Defaults to 1024.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int = 256,
                 context: bool = True,
                 local_dims: int = 64,
                 global_dims: int = 1024,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'LGDLabelEncoder: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.context = bool(context)
        k = 4 + num_classes
        self.input_transform = _SpatialTransform(k, global_dims)
        self.local_mlp = _mlp([k, local_dims])
        self.feature_transform = _SpatialTransform(local_dims, global_dims)
        self.global_mlp = _mlp([local_dims, 128, global_dims], last_act=False)
        self.embed = _mlp([local_dims + global_dims, 512, embed_dims],
                          last_act=False)

    def build_objects(self, bboxes: Sequence[Tensor],
                      labels: Sequence[Tensor],
                      img_shapes: Sequence[Tuple[int, int]]
                      ) -> Tuple[Tensor, Tensor, List[int]]:
        """The objects of a batch: descriptors, boxes, counts per image.

        Semantics per image of size (H, W) (``img_shape``, the image before
        batch padding):

        - boxes are clipped to the image; a box with no area left (zero
          width or height, or wholly outside the image) is no object;
        - with ``context``, the context object is appended: box (0, 0, W,
          H), class part all -1 (no class);
        - an image left with no object gets that same whole-image
          descriptor as its dummy object, with or without ``context``, so
          every image has an object to pool, attend to and map.

        Ignored (crowd) boxes are not passed in: the wrapper gives only the
        ``gt_instances``, not the ``gt_instances_ignore``.

        Args:
            bboxes (Sequence[Tensor]): Per image, (K_n, 4) boxes in input
                pixels.
            labels (Sequence[Tensor]): Per image, (K_n,) classes in
                ``[0, num_classes)``.
            img_shapes (Sequence[tuple]): Per image, (H, W).

        Returns:
            tuple: descriptors (M, 4 + C), boxes (M, 4) clipped, in input
            pixels, and the number of objects of each image (list of int).

        Raises:
            ValueError: A label is outside ``[0, num_classes)``.
        """
        descriptors, boxes, counts = [], [], []
        for box, label, (h, w) in zip(bboxes, labels, img_shapes):
            label = label.long()
            if label.numel() and (int(label.min()) < 0 or
                                  int(label.max()) >= self.num_classes):
                raise ValueError(
                    f'LGDLabelEncoder: ground-truth labels must lie in '
                    f'[0, {self.num_classes}) (label_encoder.num_classes), '
                    f'got {sorted(set(label.tolist()))}')
            scale = box.new_tensor([w, h, w, h])
            box = torch.minimum(box.float().clamp(min=0), scale)
            keep = (box[:, 2] > box[:, 0]) & (box[:, 3] > box[:, 1])
            box, label = box[keep], label[keep]
            onehot = F.one_hot(label, self.num_classes).to(box.dtype)
            desc = torch.cat([box / scale, onehot], dim=1)
            if self.context or not len(box):
                whole = box.new_tensor([[0., 0., w, h]])
                desc = torch.cat([
                    desc,
                    torch.cat([whole / scale,
                               box.new_zeros(1, self.num_classes)], 1)
                ])
                box = torch.cat([box, whole])
            descriptors.append(desc * 2 - 1)
            boxes.append(box)
            counts.append(len(box))
        return torch.cat(descriptors), torch.cat(boxes), counts

    def forward(self, descriptors: Tensor, counts: Sequence[int]) -> Tensor:
        """(M, 4 + C) descriptors -> (M, D) label embeddings."""
        x = self.input_transform(descriptors, counts)
        local = self.feature_transform(self.local_mlp(x), counts)
        pooled = max_per_image(self.global_mlp(local), counts)
        pooled = pooled[image_index(counts, x.device)]
        emb = self.embed(torch.cat([local, pooled], dim=1))
        return F.layer_norm(emb, (self.embed_dims, ))


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


@MODELS.register_module()
class LGDAppearanceEncoder(BaseModule):
    """Appearance embeddings of LGD: per object and FPN level, the average
    of ``ReLU(GN_1(conv3x3(F_l)))`` over the cells the object's box covers
    (:func:`box_cell_masks`). The conv is shared by the levels.

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
        self.norm = nn.GroupNorm(1, embed_dims)

    @staticmethod
    def masked_average(feat: Tensor, masks: Tensor,
                       counts: Sequence[int]) -> Tensor:
        """(N, D, H, W) map, (M, H*W) masks -> (M, D) mean inside each
        mask, the objects of image ``n`` reading ``feat[n]``. The masks are
        normalised before the product: summing up to H*W cells first could
        overflow in half precision (AMP)."""
        out = [(m / m.sum(1, keepdim=True).clamp(min=1)) @ f.flatten(1).t()
               for f, m in zip(feat, masks.split(list(counts)))]
        return torch.cat(out)

    def forward(self, feats: Sequence[Tensor], masks: Sequence[Tensor],
                counts: Sequence[int]) -> Tensor:
        """L levels (N, C_in, H_l, W_l) and their (M, H_l*W_l) masks ->
        (L, M, D)."""
        return torch.stack([
            self.masked_average(
                F.relu(self.norm(self.conv(f))), m.to(f.dtype), counts)
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
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, batch_first=True)

    def forward(self, appearance: Tensor, labels: Tensor,
                counts: Sequence[int]) -> Tensor:
        """(L, M, D) appearance, (M, D) label embeddings -> (L, M, D)."""
        mask = block_diagonal_mask(counts, appearance.device)
        kv = labels.to(appearance.dtype).expand(appearance.shape[0], -1, -1)
        out, _ = self.attn(
            appearance, kv, kv, attn_mask=mask, need_weights=False)
        return out


@MODELS.register_module()
class LGDKnowledgeMapper(BaseModule):
    """Intra-object knowledge mapper of LGD: per level, each object's
    embedding is projected (linear D -> C) and added onto the cells its box
    covers (overlapping objects sum), then::

        conv3x3, ReLU, [conv3x3, GN_1, ReLU] x 2, conv3x3, GN_1

    gives the teacher feature map (N, C, H_l, W_l), the student level's
    shape. All layers are shared by the levels.

    Args:
        embed_dims (int): D. Defaults to 256.
        out_channels (int): C, the width of the student's FPN (its head's
            ``in_channels``). Defaults to 256.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 out_channels: int = 256,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        c = out_channels
        self.proj = nn.Linear(embed_dims, c)
        self.refine = nn.Sequential(
            _conv3x3(c, c), nn.ReLU(inplace=True),
            _conv3x3(c, c), nn.GroupNorm(1, c), nn.ReLU(inplace=True),
            _conv3x3(c, c), nn.GroupNorm(1, c), nn.ReLU(inplace=True),
            _conv3x3(c, c), nn.GroupNorm(1, c))

    @staticmethod
    def scatter(obj_feats: Tensor, masks: Tensor, counts: Sequence[int],
                size: Tuple[int, int]) -> Tensor:
        """(M, C) object features, (M, H*W) masks -> (N, C, H, W): each
        image's map is the sum of its objects' features over their cells."""
        maps = [
            o.t() @ m.to(o.dtype) for o, m in zip(
                obj_feats.split(list(counts)), masks.split(list(counts)))
        ]
        return torch.stack(maps).unflatten(2, tuple(size))

    def forward(self, obj_feats: Tensor, masks: Sequence[Tensor],
                counts: Sequence[int],
                sizes: Sequence[Tuple[int, int]]) -> List[Tensor]:
        """(L, M, D) object embeddings, L masks (M, H_l*W_l), L sizes ->
        L teacher maps (N, C, H_l, W_l)."""
        projected = self.proj(obj_feats)
        return [
            self.refine(self.scatter(p, m, counts, s))
            for p, m, s in zip(projected, masks, sizes)
        ]


@MODELS.register_module()
class LGDStudentAdapter(BaseModule):
    """Adapter on the student's FPN levels before LGD's feature loss::

        conv3x3, ReLU, conv3x3, ReLU, conv3x3          shared by the levels

    Args:
        channels (int): Width of the student's FPN (in and out).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, channels: int,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(
            _conv3x3(channels, channels), nn.ReLU(inplace=True),
            _conv3x3(channels, channels), nn.ReLU(inplace=True),
            _conv3x3(channels, channels))

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """L levels (N, C, H_l, W_l) -> L adapted levels, same shapes."""
        return [self.layers(f) for f in feats]


def level_sizes(img_size: Tuple[int, int],
                strides: Sequence[Tuple[float, float]]
                ) -> List[Tuple[int, int]]:
    """(H_l, W_l) = (ceil(H / s_y), ceil(W / s_x)) per level: the sizes of
    ResNet/FPN maps (padding 1, stride 2 convs) for an (H, W) input."""
    h, w = img_size
    return [(math.ceil(h / sy), math.ceil(w / sx)) for sx, sy in strides]
