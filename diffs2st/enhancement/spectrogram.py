"""The complex-spectrogram representation of the score enhancers (SGMSE+, Richter et al. 2023, §IV-A):

    c = β · |X|^α · e^{i∠X},   X = STFT(wave) with a periodic Hann window,

α = 0.5 compresses the dynamic range so quiet speech and loud noise are on one scale, β = 0.15 brings values near
[-1, 1]. The real and imaginary parts are stacked as channels: (batch, 2·bins, frames) with bins = n_fft/2 + 1,
so the 1-D backbones (frequency as channels, convolution over time) apply unchanged. Because the phase is kept,
the output is a waveform aligned sample for sample with the input (SI-SDR is meaningful), unlike mel + vocoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..audio.mel import DEFAULT_MEL
from ..errors import ConfigError


@dataclass(frozen=True)
class ComplexSpectrogramConfig:
    sample_rate: int = DEFAULT_MEL.sample_rate
    n_fft: int = 510  # 256 bins, as SGMSE+
    hop_length: int = 128
    exponent: float = 0.5
    scale: float = 0.15

    def __post_init__(self) -> None:
        if self.n_fft < 4 or not 1 <= self.hop_length <= self.n_fft // 2:
            raise ConfigError("spectrogram: need n_fft >= 4 and 1 <= hop_length <= n_fft / 2 (Hann overlap-add)")
        if not 0 < self.exponent <= 1 or self.scale <= 0:
            raise ConfigError("spectrogram: exponent must be in (0, 1] and scale > 0")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def channels(self) -> int:
        return 2 * self.bins


def _window(config: ComplexSpectrogramConfig, like: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(config.n_fft, periodic=True, device=like.device, dtype=like.dtype)


def frames_for(samples: int, config: ComplexSpectrogramConfig) -> int:
    """Frames of the centred STFT of ``samples`` samples."""
    return samples // config.hop_length + 1


def analyse(wave: torch.Tensor, config: ComplexSpectrogramConfig) -> torch.Tensor:
    """(batch, samples) float -> compressed complex spectrogram as channels (batch, 2·bins, frames)."""
    if wave.dim() != 2:
        raise ValueError(f"expected waves of shape (batch, samples), got {tuple(wave.shape)}")
    spec = torch.stft(wave, config.n_fft, config.hop_length, window=_window(config, wave), center=True,
                      return_complex=True)
    magnitude = spec.abs()
    compressed = config.scale * magnitude.pow(config.exponent) * torch.exp(1j * spec.angle())
    return torch.cat([compressed.real, compressed.imag], dim=1)


def synthesise(channels: torch.Tensor, config: ComplexSpectrogramConfig, samples: int) -> torch.Tensor:
    """Inverse of `analyse`: (batch, 2·bins, frames) -> (batch, samples)."""
    if channels.dim() != 3 or channels.shape[1] != config.channels:
        raise ValueError(f"expected (batch, {config.channels}, frames), got {tuple(channels.shape)}")
    real, imag = channels.split(config.bins, dim=1)
    compressed = torch.complex(real, imag)
    magnitude = (compressed.abs() / config.scale).pow(1.0 / config.exponent)
    spec = magnitude * torch.exp(1j * compressed.angle())
    return torch.istft(spec, config.n_fft, config.hop_length, window=_window(config, real), center=True,
                       length=samples)
