"""HiFi-GAN generator (Kong et al. 2020): transposed-conv upsampling by the hop length, each stage followed by a
multi-receptive-field fusion (MRF) of dilated residual blocks; weight norm while training, folded away for inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from ..audio import MelConfig
from ..errors import ConfigError
from ..registry import MODELS
from .base import VOCODERS, as_batch, trim_to_frames

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class HiFiGANConfig:
    """Generator shape. ``upsample_rates`` must multiply to ``mel.hop_length``; each transposed conv has kernel
    ``upsample_kernels[i]`` with (kernel - rate) even so that stage i maps L frames to exactly L * rate samples."""

    mel: MelConfig = field(default_factory=MelConfig)
    upsample_initial_channel: int = 128
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernels: tuple[int, ...] = (16, 16, 4, 4)
    resblock_kernels: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))

    def __post_init__(self) -> None:
        if math.prod(self.upsample_rates) != self.mel.hop_length:
            raise ConfigError(f"hifigan upsample_rates {list(self.upsample_rates)} must multiply to the hop length "
                              f"{self.mel.hop_length}")
        if len(self.upsample_kernels) != len(self.upsample_rates) or any(
                (k - r) % 2 or k < r for k, r in zip(self.upsample_kernels, self.upsample_rates)):
            raise ConfigError("hifigan upsample_kernels: one per rate, each >= its rate with (kernel - rate) even")
        if len(self.resblock_dilations) != len(self.resblock_kernels):
            raise ConfigError("hifigan resblock_dilations needs one list per resblock kernel")
        if self.upsample_initial_channel % 2 ** len(self.upsample_rates):
            raise ConfigError("hifigan upsample_initial_channel must be divisible by 2 ** number of upsample stages")


def _same_padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


def remove_all_weight_norm(module: nn.Module) -> None:
    """Fold every weight-norm parametrisation into a plain weight (same outputs, fewer operations)."""
    for child in module.modules():
        if parametrize.is_parametrized(child, "weight"):
            parametrize.remove_parametrizations(child, "weight", leave_parametrized=True)


class ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: for each dilation d, x <- x + conv_1(lrelu(conv_d(lrelu(x)))). (batch, C, T) -> same."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.dilated = nn.ModuleList(weight_norm(nn.Conv1d(channels, channels, kernel, dilation=d,
                                                           padding=_same_padding(kernel, d))) for d in dilations)
        self.plain = nn.ModuleList(weight_norm(nn.Conv1d(channels, channels, kernel, padding=_same_padding(kernel)))
                                   for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.dilated, self.plain):
            x = x + plain(F.leaky_relu(dilated(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class MRF(nn.Module):
    """Multi-receptive-field fusion: the mean of ResBlocks with different kernels. (batch, C, T) -> same."""

    def __init__(self, channels: int, kernels: tuple[int, ...], dilations: tuple[tuple[int, ...], ...]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(channels, k, d) for k, d in zip(kernels, dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(block(x) for block in self.blocks) / len(self.blocks)


@VOCODERS.register("hifigan")
@MODELS.register("hifigan")
class HiFiGAN(nn.Module):
    """HiFi-GAN generator as a vocoder: mel (batch, n_mels, frames) or (n_mels, frames) -> wave (batch, samples)
    or (samples,), samples = (frames - 1) * hop (`diffs2st.vocoders.base`)."""

    config_class = HiFiGANConfig

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.config, self.mel = config, config.mel
        channels = config.upsample_initial_channel
        self.conv_pre = weight_norm(nn.Conv1d(config.mel.n_mels, channels, 7, padding=3))
        self.upsamples, self.mrfs = nn.ModuleList(), nn.ModuleList()
        for rate, kernel in zip(config.upsample_rates, config.upsample_kernels):
            self.upsamples.append(weight_norm(nn.ConvTranspose1d(channels, channels // 2, kernel, rate,
                                                                 padding=(kernel - rate) // 2)))
            channels //= 2
            self.mrfs.append(MRF(channels, config.resblock_kernels, config.resblock_dilations))
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        batch, single = as_batch(mel, self.mel)
        x = self.conv_pre(batch)
        for upsample, mrf in zip(self.upsamples, self.mrfs):
            x = mrf(upsample(F.leaky_relu(x, LRELU_SLOPE)))
        # (batch, 1, frames * hop); the default slope 0.01 before the last conv follows the reference implementation
        wave = torch.tanh(self.conv_post(F.leaky_relu(x))).squeeze(1)
        wave = trim_to_frames(wave, batch.shape[-1], self.mel)
        return wave[0] if single else wave

    def remove_weight_norm(self) -> None:
        remove_all_weight_norm(self)
