"""HiFi-GAN discriminators: multi-period (MPD) and multi-scale (MSD). Each returns, per sub-discriminator, a score
map and the list of intermediate feature maps (for the feature-matching loss)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from ..errors import ConfigError
from .hifigan import LRELU_SLOPE

Scores = list[torch.Tensor]          # one (batch, ...) score map per sub-discriminator
Features = list[list[torch.Tensor]]  # per sub-discriminator, its feature maps


@dataclass(frozen=True)
class DiscriminatorConfig:
    """``mpd_width`` / ``msd_width`` are the first layer's channels (32 and 128 in the paper); deeper layers scale
    from them as in the paper (MPD 1-4-16-32-32 x, MSD 1-1-2-4-8-8-8 x)."""

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    mpd_width: int = 32
    scales: int = 3
    msd_width: int = 128

    def __post_init__(self) -> None:
        if self.msd_width % 16 or self.msd_width <= 0 or self.mpd_width <= 0:
            raise ConfigError("discriminator: msd_width must be a positive multiple of 16 (grouped convs), "
                              "mpd_width positive")
        if not self.periods and self.scales <= 0:
            raise ConfigError("discriminator: needs at least one period or one scale")


def _leaky_stack(layers: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run conv layers with leaky ReLU, then the score conv; keep every activation as a feature map."""
    features = []
    for layer in layers:
        x = F.leaky_relu(layer(x), LRELU_SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """Looks at every ``period``-th sample: wave (batch, 1, T) is reshaped to (batch, 1, T / period, period) and
    scanned by (k, 1) 2-D convolutions, so each column is one phase of the period."""

    def __init__(self, period: int, width: int) -> None:
        super().__init__()
        self.period = period
        channels = [1, width, 4 * width, 16 * width, 32 * width, 32 * width]
        self.layers = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (5, 1), (3 if i < 4 else 1, 1), padding=(2, 0)))
            for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])))
        self.post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, _, length = wave.shape
        if length % self.period:
            wave = F.pad(wave, (0, self.period - length % self.period), mode="reflect")
        return _leaky_stack(self.layers, self.post, wave.view(batch, 1, -1, self.period))


class ScaleDiscriminator(nn.Module):
    """Strided, grouped 1-D convolutions over the wave (batch, 1, T) at one resolution (MelGAN / HiFi-GAN MSD)."""

    def __init__(self, width: int, spectral: bool) -> None:
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        w = width
        shapes = [(1, w, 15, 1, 1), (w, w, 41, 2, 4), (w, 2 * w, 41, 2, 16), (2 * w, 4 * w, 41, 4, 16),
                  (4 * w, 8 * w, 41, 4, 16), (8 * w, 8 * w, 41, 1, 16), (8 * w, 8 * w, 5, 1, 1)]
        self.layers = nn.ModuleList(norm(nn.Conv1d(c_in, c_out, k, s, groups=g, padding=k // 2))
                                    for c_in, c_out, k, s, g in shapes)
        self.post = norm(nn.Conv1d(8 * w, 1, 3, padding=1))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _leaky_stack(self.layers, self.post, wave)


class Discriminators(nn.Module):
    """MPD (one `PeriodDiscriminator` per period) + MSD (raw, x2 and x4 average-pooled waves; spectral norm on the
    raw scale as in the paper). wave (batch, samples) -> (scores, features) over all sub-discriminators."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.periods = nn.ModuleList(PeriodDiscriminator(p, config.mpd_width) for p in config.periods)
        self.scales = nn.ModuleList(ScaleDiscriminator(config.msd_width, spectral=i == 0)
                                    for i in range(config.scales))

    def forward(self, wave: torch.Tensor) -> tuple[Scores, Features]:
        wave = wave.unsqueeze(1)
        outputs = [discriminator(wave) for discriminator in self.periods]
        for index, discriminator in enumerate(self.scales):
            if index:
                wave = F.avg_pool1d(wave, 4, 2, padding=2)
            outputs.append(discriminator(wave))
        return [score for score, _ in outputs], [features for _, features in outputs]
