"""Training task "vocoder": a generator (HiFi-GAN or the iSTFT vocoder) trained against HiFi-GAN's MPD + MSD.

    diffs2st train configs/vocoder-istft.yaml --out runs/vocoder-istft

Optimisation (HiFi-GAN, alternating): per batch, first the discriminators on real vs detached fake audio, then the
generator on adv + feature matching + mel L1. For ``pretrain_steps`` steps only the mel loss trains the generator
(no discriminators: much cheaper on a CPU), after which the discriminators join. ``magnitude_weight`` > 0 (iSTFT
generator only) adds an L1 loss on the predicted linear log-magnitude; the CPU recipe trains that way without
discriminators at all (pretrain_steps = max_steps). The harness's manual-optimisation
door (`configure_optimizers` + `training_step`) runs this; only the generator is exported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..audio import MelConfig, load_audio, log_mel
from ..checkpoint import part_state_dict
from ..data.manifest import manifest_clips
from ..errors import ConfigError, DataError
from ..training.harness import TrainerConfig
from ..training.tasks import TASKS
from .discriminators import DiscriminatorConfig, Discriminators
from .hifigan import HiFiGAN, HiFiGANConfig
from .istft import ISTFTVocoder, ISTFTVocoderConfig
from .losses import (discriminator_loss, feature_matching_loss, generator_adversarial_loss, log_magnitude_loss,
                     mel_loss)

# generator name -> class; the name is also the config section holding that generator's settings
GENERATORS = {"hifigan": HiFiGAN, "istft": ISTFTVocoder}


@dataclass(frozen=True)
class VocoderTrainingConfig:
    """``generator`` picks which of the two generator sections is used; the other is ignored."""

    generator: Literal["hifigan", "istft"] = "hifigan"
    hifigan: HiFiGANConfig = field(default_factory=HiFiGANConfig)
    istft: ISTFTVocoderConfig = field(default_factory=ISTFTVocoderConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    mel_weight: float = 45.0
    feature_weight: float = 2.0
    pretrain_steps: int = 0
    magnitude_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.magnitude_weight < 0 or (self.magnitude_weight and self.generator != "istft"):
            raise ConfigError("magnitude_weight must be >= 0 and needs the istft generator (it supervises the "
                              "predicted STFT magnitude)")

    @property
    def generator_config(self) -> HiFiGANConfig | ISTFTVocoderConfig:
        return getattr(self, self.generator)


class VocoderGAN(nn.Module):
    """Generator + discriminators for training; batch = (wave (batch, samples), mel (batch, n_mels, frames))."""

    def __init__(self, config: VocoderTrainingConfig) -> None:
        super().__init__()
        self.config = config
        self.vocoder = GENERATORS[config.generator](config.generator_config)
        self.discriminators = Discriminators(config.discriminator)

    def reconstruction(self, wave: torch.Tensor, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """(generated wave, weighted reconstruction loss, its logged parts): mel L1 (+ log-magnitude L1)."""
        if self.config.magnitude_weight:
            spectrum = self.vocoder.spectrum(mel)
            fake = self.vocoder.waveform(spectrum)  # no phase refinement while training
            magnitude = log_magnitude_loss(wave, spectrum, self.vocoder.mel)
        else:
            fake, magnitude = self.vocoder(mel), None
        mel_l1 = mel_loss(wave, fake, self.vocoder.mel)
        loss, parts = mel_l1, {"mel": mel_l1.detach()}
        if magnitude is not None:
            loss = loss + self.config.magnitude_weight * magnitude
            parts["magnitude"] = magnitude.detach()
        return fake, loss, parts

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The reconstruction loss only (the pretraining objective; also usable with the automatic harness door)."""
        _, loss, parts = self.reconstruction(*batch)
        return {"loss": loss, **parts}

    def configure_optimizers(self, config: TrainerConfig) -> list[torch.optim.Optimizer]:
        """Generator first (its steps are the harness's training steps), then the discriminators."""
        return [torch.optim.AdamW(module.parameters(), lr=config.learning_rate, betas=config.betas,
                                  weight_decay=config.weight_decay) for module in (self.vocoder, self.discriminators)]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int,
                      optimize: Callable[[int, torch.Tensor], None]) -> dict[str, torch.Tensor]:
        wave, mel = batch
        fake, reconstruction, parts = self.reconstruction(wave, mel)
        if step < self.config.pretrain_steps:
            optimize(0, reconstruction)
            return {"loss": reconstruction.detach(), **parts}
        real_scores, _ = self.discriminators(wave)
        fake_scores, _ = self.discriminators(fake.detach())
        d_loss = discriminator_loss(real_scores, fake_scores)
        optimize(1, d_loss)
        with torch.no_grad():  # real features are only targets; recomputed because the discriminators just moved
            _, real_features = self.discriminators(wave)
        fake_scores, fake_features = self.discriminators(fake)
        adversarial = generator_adversarial_loss(fake_scores)
        matching = feature_matching_loss(real_features, fake_features)
        g_loss = adversarial + self.config.feature_weight * matching + self.config.mel_weight * reconstruction
        optimize(0, g_loss)
        return {"loss": g_loss.detach(), **parts, "adversarial": adversarial.detach(),
                "feature_matching": matching.detach(), "discriminator": d_loss.detach()}

    def export(self, state_dict: dict[str, torch.Tensor]) -> tuple[nn.Module, dict[str, torch.Tensor]]:
        """The shipped model is the generator alone (with these, e.g. EMA, weights)."""
        return self.vocoder, part_state_dict(state_dict, "vocoder")


@dataclass(frozen=True)
class VocoderDataConfig:
    train_manifest: str = "corpora/synth-cvss/train.jsonl"
    segment_samples: int = 8192
    segments_per_clip: int = 16
    seed: int = 0


def manifest_audio_paths(path: str | os.PathLike) -> list[Path]:
    """Every training clip of a manifest: src_audio and tgt_audio of S2STRecords, or audio of SpeechRecords."""
    return [audio for audio, _ in manifest_clips(path)]


class SegmentDataset(Dataset):
    """Item i = a random ``segment_samples`` crop of clip i mod N (zero-padded if shorter) and its log-mel.

    The crop depends only on (seed, i), so step-deterministic sampling gives step-deterministic data; each clip
    appears ``segments_per_clip`` times per epoch with different crops. Returns (wave (samples,), mel (n_mels,
    samples / hop + 1)).
    """

    def __init__(self, paths: list[Path], mel: MelConfig, segment_samples: int, segments_per_clip: int = 1,
                 seed: int = 0) -> None:
        if segment_samples <= 0 or segment_samples % mel.hop_length:
            raise ConfigError(f"data.segment_samples ({segment_samples}) must be a positive multiple of the hop "
                              f"length {mel.hop_length}")
        if not paths:
            raise DataError("the vocoder manifest lists no audio")
        self.paths, self.mel, self.segment_samples = paths, mel, segment_samples
        self.segments_per_clip, self.seed = segments_per_clip, seed

    def __len__(self) -> int:
        return len(self.paths) * self.segments_per_clip

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        wave = load_audio(self.paths[index % len(self.paths)], self.mel.sample_rate, max_seconds=None)
        rng = np.random.default_rng([self.seed, index])
        if len(wave) >= self.segment_samples:
            start = int(rng.integers(0, len(wave) - self.segment_samples + 1))
            segment = wave[start:start + self.segment_samples]
        else:
            segment = np.pad(wave, (0, self.segment_samples - len(wave)))
        segment = torch.from_numpy(np.ascontiguousarray(segment, dtype=np.float32))
        return segment, log_mel(segment, self.mel)


@TASKS.register("vocoder")
class VocoderTask:
    model_config = VocoderTrainingConfig
    data_config = VocoderDataConfig

    def build(self, model: VocoderTrainingConfig, data: VocoderDataConfig):
        torch.manual_seed(data.seed)  # initial weights depend on the run config only
        gan = VocoderGAN(model)
        dataset = SegmentDataset(manifest_audio_paths(data.train_manifest), gan.vocoder.mel, data.segment_samples,
                                 data.segments_per_clip, data.seed)
        return gan, dataset, None
