"""Conformer encoder (Gulati et al. 2020): convolutional subsampling, then blocks of
½ macaron feed-forward → relative-position self-attention (Transformer-XL, Dai et al. 2019) →
convolution module → ½ feed-forward → layer norm.

Shapes: features (batch, n_mels, frames) with lengths (batch,) -> states (batch, frames', d_model), where
frames' = ((frames − 1) // 2 − 1) // 2 (two stride-2 3×3 convolutions),
and a key mask (batch, frames') True = real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ConformerConfig:
    d_model: int = 144
    layers: int = 6
    heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 15
    dropout: float = 0.1
    subsampling_channels: int = 64  # the 2-D front convolutions dominate CPU cost at d_model channels


def subsampled_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Frame counts after the two stride-2, kernel-3, unpadded convolutions."""
    return torch.div(torch.div(lengths - 1, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor").clamp_min(1)


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(batch,) lengths -> (batch, max_len) bool, True on real positions."""
    return torch.arange(max_len, device=lengths.device)[None] < lengths[:, None]


class ConvSubsampling(nn.Module):
    """(batch, n_mels, frames) -> (batch, frames / 4, d_model)."""

    def __init__(self, n_mels: int, d_model: int, channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, channels, 3, 2), nn.ReLU(), nn.Conv2d(channels, channels, 3, 2),
                                  nn.ReLU())
        freq = ((n_mels - 1) // 2 - 1) // 2
        self.out = nn.Linear(channels * freq, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x.transpose(1, 2).unsqueeze(1))  # (batch, d, frames', freq')
        b, c, t, f = x.shape
        return self.out(x.permute(0, 2, 1, 3).reshape(b, t, c * f))


def sinusoid_table(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embeddings (Vaswani et al. 2017) of (possibly negative) positions (n,) -> (n, dim)."""
    freqs = torch.exp(torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
                      * (-math.log(10000.0) / dim))
    angles = positions.float()[:, None] * freqs
    table = torch.zeros(positions.shape[0], dim, device=positions.device)
    table[:, 0::2], table[:, 1::2] = torch.sin(angles), torch.cos(angles)
    return table


def relative_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """Embeddings of relative positions length−1, …, 0, …, −(length−1): (2·length − 1, dim)."""
    return sinusoid_table(torch.arange(length - 1, -length, -1, device=device), dim)


def rel_shift(scores: torch.Tensor) -> torch.Tensor:
    """(…, T, 2T−1) scores against relative positions T−1 … −(T−1) -> (…, T, T)
    with [i, j] at position i − j (the pad-and-reshape trick of Transformer-XL, Appendix B)."""
    *lead, t, p = scores.shape
    padded = F.pad(scores, (1, 0)).reshape(*lead, p + 1, t)
    return padded[..., 1:, :].reshape(*lead, t, p)[..., : p // 2 + 1]


class RelPositionSelfAttention(nn.Module):
    """Multi-head self-attention with relative positions: score = (q + u)·k + (q + v)·W_p p_{i−j}
    (Dai et al. 2019, eq. for A^rel with global biases u, v)."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by {heads} heads")
        self.heads, self.head_dim = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.pos = nn.Linear(d_model, d_model, bias=False)
        self.bias_u = nn.Parameter(torch.zeros(heads, self.head_dim))
        self.bias_v = nn.Parameter(torch.zeros(heads, self.head_dim))
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (z.reshape(b, t, self.heads, self.head_dim) for z in self.qkv(x).chunk(3, dim=-1))
        p = self.pos(relative_positions(t, d, x.device).to(x.dtype)).reshape(2 * t - 1, self.heads, self.head_dim)
        content = torch.einsum("bihd,bjhd->bhij", q + self.bias_u, k)
        position = rel_shift(torch.einsum("bihd,phd->bhip", q + self.bias_v, p))
        scores = (content + position) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        weights = self.dropout(scores.softmax(dim=-1))
        return self.out(torch.einsum("bhij,bjhd->bihd", weights, v).reshape(b, t, d))


class ConvolutionModule(nn.Module):
    """Pointwise conv → GLU → depthwise conv → norm → SiLU → pointwise conv (Gulati et al. 2020, Fig. 2).
    Layer norm instead of batch norm, so padding and batch composition never change a real frame's output."""

    def __init__(self, d_model: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel, padding=kernel // 2, groups=d_model)
        self.norm = nn.LayerNorm(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = F.glu(self.pointwise_in(x.transpose(1, 2)), dim=1)
        x = self.depthwise(x.masked_fill(~mask[:, None, :], 0.0))
        x = F.silu(self.norm(x.transpose(1, 2))).transpose(1, 2)
        return self.dropout(self.pointwise_out(x).transpose(1, 2))


def feed_forward(d_model: int, mult: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, mult * d_model), nn.SiLU(), nn.Dropout(dropout),
                         nn.Linear(mult * d_model, d_model), nn.Dropout(dropout))


class ConformerBlock(nn.Module):
    def __init__(self, config: ConformerConfig) -> None:
        super().__init__()
        d = config.d_model
        self.ff1 = feed_forward(d, config.ff_mult, config.dropout)
        self.attention_norm = nn.LayerNorm(d)
        self.attention = RelPositionSelfAttention(d, config.heads, config.dropout)
        self.attention_dropout = nn.Dropout(config.dropout)
        self.conv_norm = nn.LayerNorm(d)
        self.conv = ConvolutionModule(d, config.conv_kernel, config.dropout)
        self.ff2 = feed_forward(d, config.ff_mult, config.dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attention_dropout(self.attention(self.attention_norm(x), mask))
        x = x + self.conv(self.conv_norm(x), mask)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class ConformerEncoder(nn.Module):
    """Normalised log-mel (batch, n_mels, frames) + lengths -> (states (batch, frames', d), mask (batch, frames'))."""

    def __init__(self, n_mels: int, config: ConformerConfig) -> None:
        super().__init__()
        self.subsampling = ConvSubsampling(n_mels, config.d_model, config.subsampling_channels)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(ConformerBlock(config) for _ in range(config.layers))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.dropout(self.subsampling(features))
        mask = length_mask(subsampled_lengths(lengths), x.shape[1])
        for block in self.blocks:
            x = block(x, mask)
        return x, mask
