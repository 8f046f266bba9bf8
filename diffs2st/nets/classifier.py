"""Noise-aware classifier ``classifier(x_t, t) -> logits`` (Dhariwal & Nichol 2021 §4): the encoder half of a U-Net
with time FiLM, global pooling, an embedding layer and a linear head. Trained on perturbed inputs, it gives
classifier guidance ∇ log p(y | x_t, t); at t = clean its embedding is the feature space of our FID-style distance.
Works on 1-D (batch, channels, frames) or 2-D (batch, channels, H, W) inputs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import MODELS
from .layers import ResnetBlock, time_mlp


@dataclass(frozen=True)
class NoiseAwareClassifierConfig:
    num_classes: int = 10
    dims: int = 2  # 2: mel images (batch, channels, mels, frames); 1: frame sequences (batch, channels, frames)
    in_channels: int = 1
    dim: int = 32
    dim_mults: tuple[int, ...] = (1, 2, 4)
    groups: int = 8
    embedding_dim: int = 128
    time_scale: float = 1.0  # 1 for DDPM integer times, 1000 for t in [0, 1]

    def __post_init__(self) -> None:
        if self.dims not in (1, 2):
            raise ConfigError(f"classifier dims must be 1 or 2, got {self.dims}")
        if self.num_classes < 2:
            raise ConfigError("a classifier needs at least 2 classes")


@MODELS.register("noise-aware-classifier")
class NoiseAwareClassifier(nn.Module):
    config_class = NoiseAwareClassifierConfig

    def __init__(self, config: NoiseAwareClassifierConfig) -> None:
        super().__init__()
        self.config = config
        emb_dim = 4 * config.dim
        conv = nn.Conv1d if config.dims == 1 else nn.Conv2d
        self.time = time_mlp(config.dim, emb_dim, config.time_scale)
        self.stem = conv(config.in_channels, config.dim, 3, padding=1)
        widths = [config.dim * m for m in config.dim_mults]
        self.blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        previous = config.dim
        for index, width in enumerate(widths):
            self.blocks.append(ResnetBlock(config.dims, previous, width, emb_dim, config.groups))
            last = index == len(widths) - 1
            self.downsamples.append(nn.Identity() if last else conv(width, width, 4, stride=2, padding=1))
            previous = width
        self.embedding = nn.Sequential(nn.Linear(previous, config.embedding_dim), nn.SiLU())
        self.head = nn.Linear(config.embedding_dim, config.num_classes)

    def embed(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, *spatial), t (batch,) -> (batch, embedding_dim)."""
        if x.dim() != self.config.dims + 2:
            raise ValueError(f"expected a {self.config.dims}-D input with batch and channel axes, got {tuple(x.shape)}")
        emb = self.time(t)
        h = self.stem(x)
        for block, downsample in zip(self.blocks, self.downsamples):
            h = downsample(block(h, emb))
        return self.embedding(h.flatten(2).mean(dim=-1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes)."""
        return self.head(self.embed(x, t))
