"""1-D U-Net denoiser over frame sequences (batch, channels, frames): the S2ST synthesizer's decoder.

Conditioning (all optional, as a dict):
- "mu": frame-level prior (batch, prior_channels, frames), concatenated to x_t (Grad-TTS style);
- "global": a vector per utterance (batch, global_dim), e.g. a speaker embedding, enters every residual block by
  FiLM together with the time embedding;
- "sequence" (batch, L, context_dim) with "sequence_mask" (batch, L) bool: cross-attended at every level;
- "mask": frame mask (batch, frames) (1 = real frame) for padded batches; the output is zero on padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..audio import DEFAULT_MEL
from ..registry import MODELS
from .layers import time_mlp
from .unet import UNetCore
from .unet2d import parse_condition


@dataclass(frozen=True)
class UNet1DConfig:
    channels: int = DEFAULT_MEL.n_mels  # x_t channels (mel bins)
    prior_channels: int = 0  # > 0: cond["mu"] with this many channels is concatenated to x_t
    dim: int = 64
    dim_mults: tuple[int, ...] = (1, 2, 4)
    groups: int = 8
    heads: int = 4
    global_dim: int = 0  # > 0: cond["global"] (batch, global_dim) by FiLM
    context_dim: int = 0  # > 0: cross-attention to cond["sequence"]
    time_scale: float = 1000.0  # 1000 for t ∈ [0, 1], 1 for DDPM integer times


@MODELS.register("unet1d")
class UNet1D(nn.Module):
    """x_t (batch, channels, frames), t (batch,), cond dict -> prediction (batch, channels, frames); any frames."""

    config_class = UNet1DConfig
    condition_keys = ("mu", "global", "sequence", "sequence_mask", "mask")

    def __init__(self, config: UNet1DConfig) -> None:
        super().__init__()
        self.config = config
        emb_dim = 4 * config.dim
        self.time = time_mlp(config.dim, emb_dim, config.time_scale)
        self.global_projection = nn.Linear(config.global_dim, emb_dim) if config.global_dim else None
        self.core = UNetCore(1, config.channels + config.prior_channels, config.channels, config.dim,
                             config.dim_mults, emb_dim, config.groups, config.heads, config.context_dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        batch, channels, frames = x.shape if x.dim() == 3 else (None, None, None)
        if channels != self.config.channels:
            raise ValueError(f"expected x of shape (batch, {self.config.channels}, frames), got {tuple(x.shape)}")
        parts = parse_condition(cond, self.condition_keys)
        if self.config.prior_channels:
            mu = parts.get("mu", x.new_zeros(batch, self.config.prior_channels, frames))
            if mu.shape != (batch, self.config.prior_channels, frames):
                raise ValueError(f"mu must have shape {(batch, self.config.prior_channels, frames)}, "
                                 f"got {tuple(mu.shape)}")
            x = torch.cat([x, mu.to(x.dtype)], dim=1)
        emb = self.time(t)
        if self.global_projection is not None:
            vector = parts.get("global", x.new_zeros(batch, self.config.global_dim))
            emb = emb + self.global_projection(vector.to(emb.dtype))
        context = parts.get("sequence")
        if self.config.context_dim and context is None:
            context = x.new_zeros(batch, 1, self.config.context_dim)  # the null sequence
        mask = parts.get("mask")
        if mask is not None:
            x = x * mask[:, None].to(x.dtype)
        out = self.core(x, emb, context, parts.get("sequence_mask"))
        return out if mask is None else out * mask[:, None].to(out.dtype)
