"""HiFi-GAN losses as free functions (Kong et al. 2020, eqs. 1-7): least-squares adversarial losses, feature
matching and the mel-spectrogram L1 loss. Total generator loss = adv + 2 * feature matching + 45 * mel."""

from __future__ import annotations

import torch

from ..audio import MelConfig, log_mel, stft
from .discriminators import Features, Scores


def discriminator_loss(real_scores: Scores, fake_scores: Scores) -> torch.Tensor:
    """LSGAN discriminator loss, eq. 1: sum over sub-discriminators of E[(D(x) - 1)^2] + E[D(G(s))^2]."""
    return sum(torch.mean((1 - real) ** 2) + torch.mean(fake ** 2) for real, fake in zip(real_scores, fake_scores))


def generator_adversarial_loss(fake_scores: Scores) -> torch.Tensor:
    """LSGAN generator loss, eq. 2: sum over sub-discriminators of E[(D(G(s)) - 1)^2]."""
    return sum(torch.mean((1 - fake) ** 2) for fake in fake_scores)


def feature_matching_loss(real_features: Features, fake_features: Features) -> torch.Tensor:
    """Eq. 4: sum over sub-discriminators and layers of the mean L1 distance between real and fake feature maps
    (real features are targets: no gradient flows into them)."""
    return sum(torch.mean(torch.abs(real.detach() - fake))
               for real_maps, fake_maps in zip(real_features, fake_features)
               for real, fake in zip(real_maps, fake_maps))


def mel_loss(real_wave: torch.Tensor, fake_wave: torch.Tensor, mel: MelConfig) -> torch.Tensor:
    """Eq. 3: L1 distance between the log-mels of real and generated waves (batch, samples)."""
    return torch.nn.functional.l1_loss(log_mel(fake_wave, mel), log_mel(real_wave, mel))


def log_magnitude_loss(real_wave: torch.Tensor, fake_spectrum: torch.Tensor, mel: MelConfig) -> torch.Tensor:
    """L1 distance between the log STFT magnitudes of the real wave and a predicted spectrum (batch, n_freqs,
    frames) at the MelConfig's resolution (not in HiFi-GAN: it supervises the iSTFT vocoder's magnitude head)."""
    def log_magnitude(spectrum: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.clamp(spectrum.abs(), min=mel.log_floor))

    return torch.nn.functional.l1_loss(log_magnitude(fake_spectrum), log_magnitude(stft(real_wave, mel)))
