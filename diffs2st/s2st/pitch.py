"""Pitch for the acoustic synthesizer: per-frame F0 of a target clip, and the harmonic pattern an F0 contour draws
on the mel axis.

Why (issue #27, found by the pitch judge): on low voices (F0 around 100 Hz) the harmonics are ~2.7 mel bins apart
below 1 kHz and the 74 Hz-wide filters leave only a shallow ripple; a flow decoder sampled in few steps from the
conditional mean blurs that ripple whenever the F0 is uncertain, so the vocoder gets a mel without harmonics and
returns a breathy, pitchless voice (pYIN voiced share 0 on espeak-ng m3, flite kal16/awb; references ~0.8).
High voices keep theirs (harmonics 5+ bins apart). With ``SynthesizerConfig.pitch`` the synthesizer predicts an
F0 contour and its decoder is told where the harmonics lie (`harmonic_pattern`), as FastSpeech 2's variance
adaptor tells its decoder the pitch.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..audio import MelConfig
from ..audio.mel import mel_filterbank

F0_FLOOR_HZ = 50.0
F0_CEILING_HZ = 600.0
# log-F0 is predicted around this centre (natural log of Hz), so the regression targets are near zero
LOG_F0_CENTER = math.log(150.0)
# sharpness of each harmonic's peak on the linear frequency axis: (0.5 + 0.5 cos(2 pi f / F0)) ** HARMONIC_SHARPNESS
HARMONIC_SHARPNESS = 8


def frame_f0(wave: np.ndarray, mel: MelConfig) -> np.ndarray:
    """F0 in Hz of each `log_mel` frame of ``wave`` (0 where unvoiced), by WORLD's DIO + StoneMask (pyworld, a few
    ms per second of audio) at the mel hop; as many values as `log_mel` has frames."""
    import pyworld

    x = np.ascontiguousarray(np.asarray(wave, dtype=np.float64).reshape(-1))
    frames = mel.num_frames(len(x))
    if not len(x):
        return np.zeros(frames, dtype=np.float32)
    period_ms = 1000.0 * mel.hop_length / mel.sample_rate
    f0, times = pyworld.dio(x, mel.sample_rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEILING_HZ, frame_period=period_ms)
    f0 = pyworld.stonemask(x, f0, times, mel.sample_rate)
    out = np.zeros(frames, dtype=np.float32)
    count = min(frames, len(f0))
    out[:count] = f0[:count]
    return out


def harmonic_pattern(f0: torch.Tensor, mel: MelConfig) -> torch.Tensor:
    """F0 contours (batch, frames) in Hz (0 = unvoiced) -> (batch, n_mels, frames): the mean of a comb with a
    peak at every harmonic k * F0 (k >= 1) under each mel filter. Low filters see separate peaks (the pattern
    the decoder must draw), high ones average to a constant; unvoiced frames are all zero. Voiced F0 is clamped
    to [F0_FLOOR_HZ, F0_CEILING_HZ] (below ~30 Hz the comb would be undersampled on the STFT bins)."""
    bank = mel_filterbank(mel, f0.device)
    bank = bank / bank.sum(-1, keepdim=True).clamp_min(1e-8)
    frequencies = torch.arange(mel.n_freqs, device=f0.device, dtype=torch.float32) * mel.sample_rate / mel.n_fft
    voiced = f0 > 0
    safe = torch.where(voiced, f0.float().clamp(F0_FLOOR_HZ, F0_CEILING_HZ), torch.ones_like(f0, dtype=torch.float32))
    phase = frequencies[None, :, None] / safe[:, None, :]  # (batch, n_freqs, frames): harmonic number
    comb = (0.5 + 0.5 * torch.cos(2 * math.pi * phase)) ** HARMONIC_SHARPNESS
    comb = comb * (phase >= 0.5)  # nothing below the fundamental
    return torch.einsum("mf,bft->bmt", bank, comb) * voiced[:, None]


def log_f0_target(f0: torch.Tensor) -> torch.Tensor:
    """Hz -> the predictor's regression target (log F0 minus LOG_F0_CENTER); unvoiced frames give 0."""
    return torch.where(f0 > 0, torch.log(f0.clamp_min(1.0)) - LOG_F0_CENTER, torch.zeros_like(f0))


def f0_from_prediction(log_f0: torch.Tensor, voiced_logit: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """The predictor's outputs -> F0 in Hz (0 where it predicts unvoiced), multiplied by ``scale`` and kept within
    [F0_FLOOR_HZ, F0_CEILING_HZ]."""
    return (torch.exp(log_f0 + LOG_F0_CENTER) * scale).clamp(F0_FLOOR_HZ, F0_CEILING_HZ) * (voiced_logit > 0)
