"""A small MLP denoiser for vector data (toy 2-D problems, tests, demos)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..registry import MODELS
from .layers import LabelEmbedding, time_mlp


@dataclass(frozen=True)
class MLPDenoiserConfig:
    dim: int = 2
    hidden: int = 128
    depth: int = 3
    num_classes: int = 0  # > 0: cond is a label tensor (batch,) with NULL_LABEL for "unconditional"
    time_scale: float = 1000.0  # continuous t in [0, 1] -> embedding range; use 1 for DDPM's integer times


@MODELS.register("mlp-denoiser")
class MLPDenoiser(nn.Module):
    """x_t (batch, dim), t (batch,), cond labels (batch,) or None -> prediction (batch, dim).

    Time (and label) embeddings are added to the hidden state before every layer.
    """

    config_class = MLPDenoiserConfig

    def __init__(self, config: MLPDenoiserConfig) -> None:
        super().__init__()
        self.config = config
        self.time = time_mlp(32, config.hidden, config.time_scale)
        self.labels = LabelEmbedding(config.num_classes, config.hidden) if config.num_classes else None
        self.inp = nn.Linear(config.dim, config.hidden)
        self.layers = nn.ModuleList(nn.Linear(config.hidden, config.hidden) for _ in range(config.depth))
        self.out = nn.Linear(config.hidden, config.dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(t)
        if self.labels is not None:
            emb = emb + self.labels(cond, x.shape[0], x.device)
        h = self.inp(x)
        for layer in self.layers:
            h = layer(nn.functional.silu(h + emb))
        return self.out(nn.functional.silu(h))
