"""The U-Net body shared by the 2-D (mel image) and 1-D (frame sequence) denoisers.

The layout follows the DDPM U-Net (Ho et al. 2020) as the prototype used it: an initial 7-wide conv, then per
level two FiLM-conditioned residual blocks (weight-standardised convs + group norm), linear attention and, when a
context is given, cross-attention; a stride-2 conv down; a middle with full self-attention; the mirror path up with
skip connections; a final residual block and a 1×1 conv. Inputs whose spatial sizes are not multiples of
2^(levels−1) are padded internally and the output is cropped back, so any length works.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Attention, LinearAttention, ResnetBlock, crop_to, pad_to_multiple


def _conv(dims: int, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Module:
    return (nn.Conv1d if dims == 1 else nn.Conv2d)(in_ch, out_ch, kernel, stride=stride, padding=padding)


class _Upsample(nn.Module):
    def __init__(self, dims: int, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = _conv(dims, in_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


class _Level(nn.Module):
    """Two residual blocks, linear attention (unless ``linear_attention`` is off), optional cross-attention, then
    a resampling conv."""

    def __init__(self, dims: int, block_in: int, ch: int, resample: nn.Module, emb_dim: int, groups: int,
                 heads: int, context_dim: int, linear_attention: bool = True) -> None:
        super().__init__()
        self.block1 = ResnetBlock(dims, block_in, ch, emb_dim, groups)
        self.block2 = ResnetBlock(dims, block_in, ch, emb_dim, groups)
        self.attention = LinearAttention(ch, heads) if linear_attention else nn.Identity()
        self.cross = Attention(ch, heads, context_dim) if context_dim else None
        self.resample = resample

    def attend(self, h: torch.Tensor, context, context_mask) -> torch.Tensor:
        h = self.attention(h)
        return self.cross(h, context, context_mask) if self.cross is not None and context is not None else h


class UNetCore(nn.Module):
    """x (batch, in_ch, *spatial), emb (batch, emb_dim), context (batch, length, context_dim) or None
    -> (batch, out_ch, *spatial); ``dims`` = 1 or 2 spatial axes. Levels below ``linear_attention_from`` (0 =
    the finest) have no linear attention: at full resolution it costs more than all the convolutions on a CPU."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, dim: int, dim_mults: tuple[int, ...], emb_dim: int,
                 groups: int = 8, heads: int = 4, context_dim: int = 0, linear_attention_from: int = 0) -> None:
        super().__init__()
        if not dim_mults or any(m < 1 for m in dim_mults):
            raise ValueError("dim_mults must be a non-empty list of positive integers")
        if not 0 <= linear_attention_from <= len(dim_mults):
            raise ValueError(f"linear_attention_from must be in [0, {len(dim_mults)}], got {linear_attention_from}")
        if any(dim * m % groups for m in dim_mults):
            raise ValueError(f"every level width dim*mult must be divisible by groups={groups}")
        self.dims, self.multiple = dims, 2 ** (len(dim_mults) - 1)
        widths = [dim] + [dim * m for m in dim_mults]
        pairs = list(zip(widths[:-1], widths[1:]))
        self.init_conv = _conv(dims, in_ch, dim, 7, padding=3)
        self.down = nn.ModuleList()
        for i, (w_in, w_out) in enumerate(pairs):
            last = i == len(pairs) - 1
            resample = _conv(dims, w_in, w_out, 3, padding=1) if last else _conv(dims, w_in, w_out, 3, 2, 1)
            self.down.append(_Level(dims, w_in, w_in, resample, emb_dim, groups, heads, context_dim,
                                    linear_attention=i >= linear_attention_from))
        mid = widths[-1]
        self.mid1 = ResnetBlock(dims, mid, mid, emb_dim, groups)
        self.mid_attention = Attention(mid, heads)
        self.mid_cross = Attention(mid, heads, context_dim) if context_dim else None
        self.mid2 = ResnetBlock(dims, mid, mid, emb_dim, groups)
        self.up = nn.ModuleList()
        for i, (w_in, w_out) in enumerate(reversed(pairs)):
            last = i == len(pairs) - 1
            resample = _conv(dims, w_out, w_in, 3, padding=1) if last else _Upsample(dims, w_out, w_in)
            level = len(pairs) - 1 - i
            self.up.append(_Level(dims, w_out + w_in, w_out, resample, emb_dim, groups, heads, context_dim,
                                  linear_attention=level >= linear_attention_from))
        self.final_block = ResnetBlock(dims, 2 * dim, dim, emb_dim, groups)
        self.final_conv = _conv(dims, dim, out_ch, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        x, sizes = pad_to_multiple(x, self.multiple, self.dims)
        x = self.init_conv(x)
        first, skips = x, []
        for level in self.down:
            x = level.block1(x, emb)
            skips.append(x)
            x = level.attend(level.block2(x, emb), context, context_mask)
            skips.append(x)
            x = level.resample(x)
        x = self.mid_attention(self.mid1(x, emb))
        if self.mid_cross is not None and context is not None:
            x = self.mid_cross(x, context, context_mask)
        x = self.mid2(x, emb)
        for level in self.up:
            x = level.block1(torch.cat([x, skips.pop()], dim=1), emb)
            x = level.attend(level.block2(torch.cat([x, skips.pop()], dim=1), emb), context, context_mask)
            x = level.resample(x)
        x = self.final_block(torch.cat([x, first], dim=1), emb)
        return crop_to(self.final_conv(x), sizes)
