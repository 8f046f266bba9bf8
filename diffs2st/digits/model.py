"""The digit generator: a 2-D U-Net denoiser over normalised log-mel images, labels 0-9, trained with condition
dropout so classifier-free guidance works at sampling time (Ho & Salimans 2022)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..audio import MelConfig
from ..audio.normalization import MelNormalizer
from ..diffusion import ClassifierFreeGuidance, ClassifierGuidance, build_process, diffusion_loss, sample
from ..errors import ConfigError
from ..nets.unet2d import UNet2D, UNet2DConfig
from ..registry import MODELS

NUM_DIGITS = 10
CLASSIFIER_MIN_SIGNAL = 0.05  # no classifier guidance where sqrt(alpha_bar_t) < this (see ClassifierGuidance)


def _default_process() -> dict[str, Any]:
    # The prototype's T = 300 and epsilon prediction, with the cosine schedule: its linear betas 1e-4..0.02 keep
    # sqrt(alpha_bar_T) = 0.22 of the signal, so samples from N(0, I) came out washed out (configs/digits-ddpm.yaml).
    return {"name": "ddpm", "num_steps": 300, "schedule": "cosine", "prediction": "v"}


def _default_backbone() -> UNet2DConfig:
    return UNet2DConfig(dim=32, dim_mults=(1, 2, 2, 4), num_classes=NUM_DIGITS, time_scale=1.0)


@dataclass(frozen=True)
class DigitDiffusionConfig:
    """``frames`` fixes the image width (clips are centred and padded with silence or cropped to it);
    ``mel_mean``/``mel_std`` are per-bin statistics of the training set (filled in when training starts)."""

    mel: MelConfig = field(default_factory=MelConfig)
    frames: int = 64
    backbone: UNet2DConfig = field(default_factory=_default_backbone)
    process: dict[str, Any] = field(default_factory=_default_process)
    loss: str = "huber"
    cond_dropout: float = 0.1
    mel_mean: tuple[float, ...] = ()
    mel_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.backbone.num_classes != NUM_DIGITS:
            raise ConfigError(f"backbone.num_classes must be {NUM_DIGITS} for digits")
        if not 0.0 <= self.cond_dropout < 1.0:
            raise ConfigError("cond_dropout must be in [0, 1)")


@MODELS.register("digit-diffusion")
class DigitDiffusion(nn.Module):
    """Training: ``loss((mel, labels))`` with mel (batch, n_mels, frames) normalised. Inference: `generate`."""

    config_class = DigitDiffusionConfig

    def __init__(self, config: DigitDiffusionConfig) -> None:
        super().__init__()
        self.config = config
        self.denoiser = UNet2D(config.backbone)
        self.process = build_process(config.process)
        self.normalizer = MelNormalizer(config.mel.n_mels, config.mel_mean, config.mel_std)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """The denoiser contract on (batch, n_mels, frames) images."""
        return self.denoiser(x_t[:, None], t, cond)[:, 0]

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        mel, labels = batch
        value = diffusion_loss(self, self.process, mel, labels, loss=self.config.loss,
                               cond_dropout=self.config.cond_dropout)
        return {"loss": value}

    def check_classifier(self, classifier: nn.Module) -> None:
        """Classifier guidance needs a noise-aware digit classifier of the same process, image and normalisation."""
        ours, theirs = self.config, getattr(classifier, "config", None)
        same = (theirs is not None and dict(theirs.process) == dict(ours.process) and theirs.frames == ours.frames
                and theirs.mel == ours.mel and len(theirs.mel_mean) == len(ours.mel_mean)
                and torch.allclose(classifier.normalizer.mean, self.normalizer.mean, atol=1e-4)
                and torch.allclose(classifier.normalizer.std, self.normalizer.std, atol=1e-4))
        if not same:
            raise ConfigError("the digit classifier was trained for another process, image size or mel "
                              "normalisation than this generator; classifier guidance needs the same ones")

    @torch.no_grad()
    def generate(self, digits: Sequence[int], sampler: str = "ddim", steps: int = 25, guidance: float = 0.0,
                 seed: int = 0, callback: Callable | None = None, progress: bool = False,
                 classifier: nn.Module | None = None, classifier_scale: float = 0.0,
                 **sampler_options) -> torch.Tensor:
        """Log-mels (len(digits), n_mels, frames) of the requested digits; ``guidance`` is the CFG weight w,
        ``classifier_scale`` the weight of classifier guidance from a noise-aware ``classifier`` (both can act)."""
        labels = torch.as_tensor(list(digits), dtype=torch.long)
        if labels.numel() == 0 or labels.min() < 0 or labels.max() >= NUM_DIGITS:
            raise ConfigError(f"digits must be integers 0-{NUM_DIGITS - 1}, got {list(digits)}")
        if classifier_scale < 0 or guidance < 0:
            raise ConfigError("guidance weights must be >= 0")
        if classifier_scale > 0 and classifier is None:
            raise ConfigError("classifier guidance needs a digit classifier")
        device = self.normalizer.mean.device
        generator = torch.Generator(device=device).manual_seed(seed)
        shape = (labels.numel(), self.config.mel.n_mels, self.config.frames)
        x_T = self.process.prior_sample(shape, generator=generator, device=device)
        guidances = [ClassifierFreeGuidance(guidance)] if guidance else []
        if classifier_scale > 0:
            self.check_classifier(classifier)
            guidances.append(ClassifierGuidance(classifier, classifier_scale, labels.to(device),
                                                min_signal=CLASSIFIER_MIN_SIGNAL))
        x0 = sample(sampler, self, self.process, x_T, steps, cond=labels.to(device), guidance=guidances or None,
                    callback=callback, generator=generator, progress=progress, **sampler_options)
        return self.normalizer.denormalize(x0)
