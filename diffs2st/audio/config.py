"""The audio front-end's description (DESIGN §6): `MelConfig`, saved in every checkpoint. It imports no torch, so
reading a config or audio file costs no torch import; the transforms themselves live in `mel`."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class MelConfig:
    """The one description of the audio front-end; saved in every checkpoint.

    Defaults follow the HiFi-GAN convention at 16 kHz: magnitude STFT (power 1) with a Hann window,
    Slaney-normalised mel filters, natural log with a floor of ``log_floor``.
    """

    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0
    log_floor: float = 1e-5

    def __post_init__(self) -> None:
        if self.win_length > self.n_fft:
            raise ConfigError(f"mel.win_length ({self.win_length}) must not exceed mel.n_fft ({self.n_fft})")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ConfigError(
                f"mel frequencies must satisfy 0 <= f_min < f_max <= sample_rate/2, "
                f"got f_min={self.f_min}, f_max={self.f_max}, sample_rate={self.sample_rate}"
            )
        if min(self.sample_rate, self.n_fft, self.hop_length, self.n_mels) <= 0 or self.log_floor <= 0:
            raise ConfigError("mel sample_rate, n_fft, hop_length, n_mels and log_floor must be positive")

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def num_frames(self, num_samples: int) -> int:
        """Frames produced by `log_mel` for a wave of ``num_samples`` (centred STFT)."""
        return 1 + num_samples // self.hop_length

    def frames_to_seconds(self, frames: int) -> float:
        return frames * self.hop_length / self.sample_rate


# The project's front end where no model is involved (corpus builders, stand-alone audio tools, the defaults of new
# model configs). Anything that has a model uses that model's saved config instead (``model.config.mel``).
DEFAULT_MEL = MelConfig()
