"""Building blocks shared by the denoiser backbones."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..diffusion.conditioning import NULL_LABEL


class SinusoidalTimeEmbedding(nn.Module):
    """t (batch,) -> (batch, dim): [sin(t·ω_i), cos(t·ω_i)] with ω_i = 10000^{−i/(dim/2−1)}
    (Vaswani et al. 2017).

    ``scale`` multiplies t first, so continuous times in [0, 1] (scale 1000) and DDPM's integers (scale 1) land in
    the same range.
    """

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        super().__init__()
        if dim % 2 or dim < 4:
            raise ValueError(f"time embedding dim must be even and ≥ 4, got {dim}")
        self.dim, self.scale = dim, scale

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / (half - 1))
        angles = self.scale * t.float()[:, None] * freqs[None]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


def time_mlp(dim: int, out_dim: int, scale: float) -> nn.Sequential:
    """Sinusoidal embedding followed by a 2-layer MLP: t (batch,) -> (batch, out_dim)."""
    return nn.Sequential(SinusoidalTimeEmbedding(dim, scale), nn.Linear(dim, out_dim), nn.GELU(),
                         nn.Linear(out_dim, out_dim))


class LabelEmbedding(nn.Module):
    """Class labels (batch,) -> (batch, dim); `NULL_LABEL` (and cond=None) use a learned extra row (CFG's ∅)."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.table = nn.Embedding(num_classes + 1, dim)

    def forward(self, labels: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
        if labels is None:
            labels = torch.full((batch,), NULL_LABEL, device=device, dtype=torch.long)
        labels = labels.long()
        if bool(((labels < NULL_LABEL) | (labels >= self.num_classes)).any()):
            raise ValueError(f"labels must be in [0, {self.num_classes}) or {NULL_LABEL} (null)")
        return self.table(torch.where(labels == NULL_LABEL, self.num_classes, labels))


class WeightStandardizedConv(nn.Module):
    """Conv with weights standardised per output channel before use (Qiao et al. 2019), as in the prototype's
    U-Net; it pairs with group norm. Works for 1-D and 2-D kernels."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = (nn.Conv1d if dims == 1 else nn.Conv2d)(in_ch, out_ch, kernel, padding=padding)
        self.functional = F.conv1d if dims == 1 else F.conv2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.conv.weight
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        reduce = tuple(range(1, w.dim()))
        mean = w.mean(dim=reduce, keepdim=True)
        var = w.var(dim=reduce, keepdim=True, unbiased=False)
        return self.functional(x, (w - mean) * torch.rsqrt(var + eps), self.conv.bias, padding=self.conv.padding)


class ConvBlock(nn.Module):
    """WS-conv → group norm → optional FiLM (scale, shift) → SiLU. x (batch, ch, *spatial)."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, groups: int) -> None:
        super().__init__()
        self.conv = WeightStandardizedConv(dims, in_ch, out_ch)
        self.norm = nn.GroupNorm(groups, out_ch)

    def forward(self, x: torch.Tensor, scale_shift: tuple[torch.Tensor, torch.Tensor] | None = None):
        x = self.norm(self.conv(x))
        if scale_shift is not None:
            scale, shift = scale_shift
            x = x * (scale + 1) + shift
        return F.silu(x)


class ResnetBlock(nn.Module):
    """Residual block conditioned by FiLM from an embedding (time + label/speaker) (batch, emb_dim); the
    prototype's label embedding "inside every residual block" enters here."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.film = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, 2 * out_ch))
        self.block1 = ConvBlock(dims, in_ch, out_ch, groups)
        self.block2 = ConvBlock(dims, out_ch, out_ch, groups)
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.skip = conv(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        film = self.film(emb).reshape(emb.shape[0], -1, *([1] * (x.dim() - 2)))
        h = self.block1(x, film.chunk(2, dim=1))
        return self.block2(h) + self.skip(x)


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(batch, ch, *spatial) -> (batch, positions, ch)."""
    return x.flatten(2).transpose(1, 2)


class LinearAttention(nn.Module):
    """Linear attention (Katharopoulos et al. 2020; softmax over features/positions as in the DDPM U-Nets) with
    a pre-norm residual: cost linear in the number of positions. x (batch, ch, *spatial)."""

    def __init__(self, channels: int, heads: int = 4, head_dim: int = 32) -> None:
        super().__init__()
        self.heads, self.scale = heads, head_dim ** -0.5
        self.norm = nn.GroupNorm(1, channels)
        self.qkv = nn.Linear(channels, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = _tokens(self.norm(x))
        b, n, _ = tokens.shape
        q, k, v = (z.reshape(b, n, self.heads, -1).transpose(1, 2) for z in self.qkv(tokens).chunk(3, dim=-1))
        q = q.softmax(dim=-1) * self.scale
        k = k.softmax(dim=-2)
        context = k.transpose(-1, -2) @ v  # (b, heads, d, d)
        out = (q @ context).transpose(1, 2).reshape(b, n, -1)
        return x + self.out(out).transpose(1, 2).reshape(x.shape)


class Attention(nn.Module):
    """Multi-head (cross-)attention with a pre-norm residual. x (batch, ch, *spatial) attends to itself, or to a
    context sequence (batch, length, context_dim) with an optional key mask (batch, length) bool (True = keep)."""

    def __init__(self, channels: int, heads: int = 4, context_dim: int | None = None) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, channels)
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True, kdim=context_dim,
                                               vdim=context_dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                context_mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = _tokens(self.norm(x))
        keys = tokens if context is None else context.to(tokens.dtype)
        padding = None
        if context_mask is not None:
            # An all-masked row (e.g. a dropped condition) would give NaN; let such rows see every key instead.
            keep = context_mask.bool() | ~context_mask.bool().any(dim=1, keepdim=True)
            padding = ~keep
        out, _ = self.attention(tokens, keys, keys, key_padding_mask=padding, need_weights=False)
        return x + out.transpose(1, 2).reshape(x.shape)


def pad_to_multiple(x: torch.Tensor, multiple: int, dims: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Right-pad the last ``dims`` axes of x to multiples of ``multiple`` (reflect where possible); returns the
    padded tensor and the original sizes for `crop_to`."""
    sizes = tuple(x.shape[-dims:])
    pads: list[int] = []
    for size in reversed(sizes):
        pads += [0, (-size) % multiple]
    if any(pads):
        mode = "reflect" if all(p < s for p, s in zip(pads[1::2], reversed(sizes))) else "replicate"
        x = F.pad(x, pads, mode=mode)
    return x, sizes


def crop_to(x: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    slices = tuple(slice(0, s) for s in sizes)
    return x[(...,) + slices]
