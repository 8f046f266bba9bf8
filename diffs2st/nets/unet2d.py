"""2-D U-Net denoiser over mel "images" (batch, channels, mels, frames), class-conditional (the digit model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import MODELS
from .layers import LabelEmbedding, time_mlp
from .unet import UNetCore

LABEL_MODES = ("film", "cross_attention")


@dataclass(frozen=True)
class UNet2DConfig:
    in_channels: int = 1
    dim: int = 32  # init dim (the prototype's)
    dim_mults: tuple[int, ...] = (1, 2, 2, 4)
    groups: int = 8
    heads: int = 4
    linear_attention_from: int = 0  # levels finer than this (0 = full resolution) skip linear attention
    num_classes: int = 0  # > 0: cond carries class labels (batch,) long, NULL_LABEL = unconditional
    label_mode: str = "film"  # film: label embedding added to the time embedding in every residual block;
    # cross_attention: the label embedding is a one-token sequence the U-Net cross-attends to (prototype variant)
    context_dim: int = 0  # > 0: cross-attention to cond["sequence"] (batch, length, context_dim)
    time_scale: float = 1000.0  # t multiplier before the sinusoid: 1000 for t ∈ [0, 1], 1 for DDPM integer times

    def __post_init__(self) -> None:
        if self.label_mode not in LABEL_MODES:
            raise ConfigError(f"label_mode {self.label_mode!r} is not one of {', '.join(LABEL_MODES)}")
        if self.label_mode == "cross_attention" and not (self.num_classes and self.context_dim):
            raise ConfigError("label_mode cross_attention needs num_classes > 0 and context_dim > 0")


def parse_condition(cond: Any, allowed: tuple[str, ...], label_key: str | None = None) -> dict[str, torch.Tensor]:
    """A condition as a dict: None -> {}; a bare integer tensor -> {label_key: cond}; a dict is checked for
    unknown keys (a typo must not silently mean "unconditional")."""
    if cond is None:
        return {}
    if isinstance(cond, torch.Tensor) and label_key is not None and not cond.is_floating_point():
        return {label_key: cond}
    if not isinstance(cond, dict):
        raise ConfigError(f"condition must be None or a dict with keys {', '.join(allowed)}")
    unknown = sorted(set(cond) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown condition key {unknown[0]!r} (known: {', '.join(allowed)})")
    return {k: v for k, v in cond.items() if v is not None}


@MODELS.register("unet2d")
class UNet2D(nn.Module):
    """ε/x0/v/score denoiser: x_t (batch, in_channels, H, W), t (batch,), cond -> (batch, in_channels, H, W).

    cond: None, labels (batch,) long, or {"label": (batch,), "sequence": (batch, L, context_dim),
    "sequence_mask": (batch, L) bool}. Any H, W (padded to multiples of 2^(levels−1) inside).
    """

    config_class = UNet2DConfig
    condition_keys = ("label", "sequence", "sequence_mask")

    def __init__(self, config: UNet2DConfig) -> None:
        super().__init__()
        self.config = config
        emb_dim = 4 * config.dim
        self.time = time_mlp(config.dim, emb_dim, config.time_scale)
        self.labels = None
        if config.num_classes:
            width = emb_dim if config.label_mode == "film" else config.context_dim
            self.labels = LabelEmbedding(config.num_classes, width)
        self.core = UNetCore(2, config.in_channels, config.in_channels, config.dim, config.dim_mults, emb_dim,
                             config.groups, config.heads, config.context_dim, config.linear_attention_from)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected x of shape (batch, {self.config.in_channels}, H, W), got {tuple(x.shape)}")
        parts = parse_condition(cond, self.condition_keys, label_key="label")
        emb = self.time(t)
        context, context_mask = parts.get("sequence"), parts.get("sequence_mask")
        if self.labels is not None:
            label_emb = self.labels(parts.get("label"), x.shape[0], x.device)
            if self.config.label_mode == "film":
                emb = emb + label_emb
            else:
                context = label_emb[:, None] if context is None else torch.cat([label_emb[:, None], context], 1)
                if context_mask is not None:
                    keep = torch.ones_like(context_mask[:, :1], dtype=torch.bool)
                    context_mask = torch.cat([keep, context_mask.bool()], 1)
        if self.config.context_dim and context is None:
            # No sequence given (unconditional): attend to one all-zero token, the null sequence.
            context = x.new_zeros(x.shape[0], 1, self.config.context_dim)
        return self.core(x, emb, context, context_mask)
