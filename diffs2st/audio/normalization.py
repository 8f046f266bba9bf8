"""Per-mel-bin standardisation with training-set statistics (DESIGN §3); the statistics live in the model config
so a checkpoint carries them."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..errors import ConfigError


def mel_statistics(mels: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-bin mean and std of log-mels (batch, n_mels, frames) over batch and frames (std floored at 1e-3)."""
    return tuple(mels.mean(dim=(0, 2)).tolist()), tuple(mels.std(dim=(0, 2)).clamp_min(1e-3).tolist())


class MelNormalizer(nn.Module):
    """x = (log-mel − mean) / std per bin; empty statistics mean identity (before they are computed)."""

    def __init__(self, n_mels: int, mean: Sequence[float] = (), std: Sequence[float] = ()) -> None:
        super().__init__()
        if len(mean) != len(std) or len(mean) not in (0, n_mels):
            raise ConfigError(f"mel_mean and mel_std must both hold {n_mels} values (or be empty)")
        self.register_buffer("mean", torch.tensor(list(mean) or [0.0] * n_mels)[:, None], persistent=False)
        self.register_buffer("std", torch.tensor(list(std) or [1.0] * n_mels)[:, None], persistent=False)

    def normalize(self, mel: torch.Tensor) -> torch.Tensor:
        """(..., n_mels, frames) -> same shape."""
        return (mel - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean
