"""Our digit classifier: noise-aware (for classifier guidance of the digit generator) and, at the clean end of
the process, the embedding in which the benchmark's FID-style distance is measured. It is ours, not a judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..audio import MelConfig
from ..audio.normalization import MelNormalizer
from ..diffusion import build_process
from ..errors import ConfigError
from ..nets.classifier import NoiseAwareClassifier, NoiseAwareClassifierConfig
from ..registry import MODELS
from .model import NUM_DIGITS, _default_process


def _default_classifier() -> NoiseAwareClassifierConfig:
    return NoiseAwareClassifierConfig(num_classes=NUM_DIGITS, dims=2, dim=32, dim_mults=(1, 2, 4), time_scale=1.0)


@dataclass(frozen=True)
class DigitClassifierConfig:
    """``process`` must equal the generator's for guidance; ``clean_fraction`` of training examples are clean."""

    mel: MelConfig = field(default_factory=MelConfig)
    frames: int = 64
    classifier: NoiseAwareClassifierConfig = field(default_factory=_default_classifier)
    process: dict[str, Any] = field(default_factory=_default_process)
    clean_fraction: float = 0.25
    mel_mean: tuple[float, ...] = ()
    mel_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.classifier.num_classes != NUM_DIGITS or self.classifier.dims != 2:
            raise ConfigError(f"classifier must be 2-D with {NUM_DIGITS} classes for digits")
        if not 0.0 <= self.clean_fraction <= 1.0:
            raise ConfigError("clean_fraction must be in [0, 1]")


@MODELS.register("digit-classifier")
class DigitClassifier(nn.Module):
    """Inputs are normalised log-mels (batch, n_mels, frames) — the generator's space — and times of its process."""

    config_class = DigitClassifierConfig

    def __init__(self, config: DigitClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.net = NoiseAwareClassifier(config.classifier)
        self.process = build_process(config.process)
        self.normalizer = MelNormalizer(config.mel.n_mels, config.mel_mean, config.mel_std)
        self.clean_time = self.process.time_grid(1)[-1].item()  # the end of every sampling grid: clean data

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Logits (batch, 10) for normalised, possibly noised, mel images at time t (batch,)."""
        return self.net(x_t[:, None], t)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        x0, labels = batch
        t = self.process.sample_time(x0.shape[0], device=x0.device)
        clean = torch.rand(x0.shape[0], device=x0.device) < self.config.clean_fraction
        t = torch.where(clean, torch.full_like(t, self.clean_time), t)
        logits = self(self.process.perturb(x0, t, torch.randn_like(x0)), t)
        accuracy = (logits.argmax(-1) == labels).float().mean()
        return {"loss": F.cross_entropy(logits, labels), "accuracy": accuracy}

    @torch.no_grad()
    def clean_features(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embeddings (batch, embedding_dim), logits) of un-normalised clean log-mels (batch, n_mels, frames)."""
        x = self.normalizer.normalize(mel)
        t = torch.full((x.shape[0],), self.clean_time, device=x.device, dtype=torch.float32)
        t = t.long() if self.process.discrete else t
        embedding = self.net.embed(x[:, None], t)
        return embedding, self.net.head(embedding)
