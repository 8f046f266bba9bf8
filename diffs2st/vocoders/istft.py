"""Fast iSTFT vocoder in the style of Vocos (Siuzdak 2023): a ConvNeXt backbone runs at the mel frame rate and
predicts, per frame, the STFT log-magnitude and phase at the MelConfig's n_fft/hop; `diffs2st.audio.istft` turns
them into a waveform. No upsampling network, so it is cheap on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ..audio import MelConfig, istft, match_mel, reconstruct_phase
from ..errors import ConfigError
from ..registry import MODELS
from .base import VOCODERS, as_batch, num_samples

# exp(log-magnitude) is clipped here so a wild early prediction cannot overflow the iSTFT (Vocos uses the same bound).
MAX_MAGNITUDE = 1e2


@dataclass(frozen=True)
class ISTFTVocoderConfig:
    mel: MelConfig = field(default_factory=MelConfig)
    dim: int = 256
    intermediate_dim: int = 768
    num_layers: int = 8
    kernel_size: int = 7
    refine_iters: int = 0  # Griffin-Lim iterations from the predicted phase at inference (0: plain iSTFT)
    mel_correction: bool = True  # at inference, rescale the predicted magnitude to match the input mel

    def __post_init__(self) -> None:
        if min(self.dim, self.intermediate_dim, self.num_layers) <= 0 or self.kernel_size % 2 == 0:
            raise ConfigError("istft vocoder: dim, intermediate_dim, num_layers must be positive, kernel_size odd")
        if self.refine_iters < 0:
            raise ConfigError(f"istft vocoder: refine_iters must be >= 0, got {self.refine_iters}")


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block over (batch, dim, frames): depthwise conv -> LayerNorm -> MLP (GELU) -> layer scale -> residual
    (Liu et al. 2022, 1-D as in Vocos)."""

    def __init__(self, dim: int, intermediate_dim: int, kernel_size: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.expand = nn.Linear(dim, intermediate_dim)
        self.project = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.depthwise(x).transpose(1, 2))  # (batch, frames, dim): the MLP acts per frame
        h = self.gamma * self.project(F.gelu(self.expand(h)))
        return x + h.transpose(1, 2)


@VOCODERS.register("istft")
@MODELS.register("istft-vocoder")
class ISTFTVocoder(nn.Module):
    """Vocos-style vocoder: mel (batch, n_mels, frames) or (n_mels, frames) -> wave (batch, samples) or (samples,),
    samples = (frames - 1) * hop.

    Head: per frame, a linear layer gives n_freqs log-magnitudes m and n_freqs angles p; the complex spectrum is
    exp(m) * (cos p + i sin p) (Vocos eq. 1-2), inverted by the centred iSTFT so frame i lands on sample i * hop.
    """

    config_class = ISTFTVocoderConfig

    def __init__(self, config: ISTFTVocoderConfig) -> None:
        super().__init__()
        self.config, self.mel = config, config.mel
        self.refine_iters = config.refine_iters  # an inference setting: `load_vocoder(..., refine_iters=N)` changes it
        self.embed = nn.Conv1d(config.mel.n_mels, config.dim, config.kernel_size, padding=config.kernel_size // 2)
        self.embed_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.blocks = nn.ModuleList(ConvNeXtBlock(config.dim, config.intermediate_dim, config.kernel_size,
                                                  layer_scale=1.0 / config.num_layers)
                                    for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.dim, eps=1e-6)
        self.head = nn.Linear(config.dim, 2 * config.mel.n_freqs)

    def spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """Complex STFT (batch, n_freqs, frames) predicted from mel (batch, n_mels, frames)."""
        x = self.embed_norm(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        log_magnitude, angle = self.head(self.final_norm(x.transpose(1, 2))).transpose(1, 2).chunk(2, dim=1)
        magnitude = torch.exp(log_magnitude).clamp(max=MAX_MAGNITUDE)
        return torch.complex(magnitude * torch.cos(angle), magnitude * torch.sin(angle))

    def waveform(self, spectrum: torch.Tensor, refine_iters: int = 0) -> torch.Tensor:
        """(batch, samples) from a predicted spectrum (batch, n_freqs, frames), optionally phase-refined."""
        length = num_samples(spectrum.shape[-1], self.mel)
        if refine_iters:
            return reconstruct_phase(spectrum.abs(), self.mel, length, refine_iters, phase=spectrum.angle())
        return istft(spectrum, self.mel, length=length)

    def corrected_spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """`spectrum`, with its magnitude rescaled to match ``mel`` (batch, n_mels, frames) when the config's
        mel_correction is on: what `forward` inverts."""
        spectrum = self.spectrum(mel)
        if self.config.mel_correction:
            spectrum = torch.polar(match_mel(spectrum.abs(), mel, self.mel), spectrum.angle())
        return spectrum

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        batch, single = as_batch(mel, self.mel)
        wave = self.waveform(self.corrected_spectrum(batch), self.refine_iters)
        return wave[0] if single else wave
