"""Synthetic speakers: a source voice (espeak-ng French variant) tied to a target voice (flite English) plus a WORLD
transform (F0 scale, spectral warp) and a speaking rate, applied identically to both languages (DESIGN §4).

Each espeak-ng variant maps to one flite voice through a fixed, gender-consistent table, so a speaker's target base
voice is a function of their source voice; what the S2ST model must carry across is the variant and the transform.

Ranges are voice-aware and kept inside the intelligible zone measured for DESIGN §4 (slt: F0×1.3 with warp 1.08
already raised pocketsphinx WER from 0.09 to 0.27; awb held ≤ 0.07 further out): slt F0 0.92–1.10, warp 0.97–1.03;
awb F0 0.80–1.25, warp 0.92–1.10; rms and kal16 F0 0.85–1.20, warp 0.94–1.07; rate 0.95–1.10 (faster speech
cost intelligibility). A first build with slt at F0 0.88–1.14 / warp 0.96–1.04, five female variants and rate down
to 0.90 measured target WER 0.30 on slt (0.25 overall), hence these narrower female ranges.

Seen and unseen speakers: each F0 range is cut into five equal bands; training ("seen") speakers draw their F0 scale
from bands 0, 2 and 4, unseen speakers from bands 1 and 3, so no unseen speaker's F0 transform lies in a band any
training speaker used, on the same variant/voice pairs.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..audio import DEFAULT_MEL
from ..errors import ConfigError
from . import tts

# espeak-ng variant -> (gender, flite voice)
VOICE_TABLE = {
    "f1": ("f", "slt"), "f2": ("f", "slt"), "f3": ("f", "slt"), "f4": ("f", "slt"),
    "m1": ("m", "awb"), "m2": ("m", "rms"), "m3": ("m", "kal16"), "m4": ("m", "awb"), "m5": ("m", "rms"),
    "m6": ("m", "kal16"), "m7": ("m", "awb"), "m8": ("m", "rms"),
}
F0_RANGE = {"slt": (0.92, 1.10), "awb": (0.80, 1.25), "rms": (0.85, 1.20), "kal16": (0.85, 1.20)}
WARP_RANGE = {"slt": (0.97, 1.03), "awb": (0.92, 1.10), "rms": (0.94, 1.07), "kal16": (0.94, 1.07)}
RATE_RANGE = (0.95, 1.10)
SEEN_BANDS, UNSEEN_BANDS, N_BANDS = (0, 2, 4), (1, 3), 5
ESPEAK_WORDS_PER_MINUTE = 160


@dataclass(frozen=True)
class SpeakerSpec:
    id: str
    gender: str
    espeak_variant: str
    flite_voice: str
    f0_scale: float = 1.0
    warp: float = 1.0
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.espeak_variant not in VOICE_TABLE:
            raise ConfigError(f"unknown espeak-ng variant {self.espeak_variant!r} (known: {', '.join(VOICE_TABLE)})")
        if VOICE_TABLE[self.espeak_variant] != (self.gender, self.flite_voice):
            raise ConfigError(f"variant {self.espeak_variant} goes with {VOICE_TABLE[self.espeak_variant]}, "
                              f"not ({self.gender!r}, {self.flite_voice!r})")

    def to_dict(self) -> dict:
        return asdict(self)


def f0_band(spec: SpeakerSpec) -> int:
    """Which of the five F0 bands of its voice the speaker's F0 scale falls in."""
    low, high = F0_RANGE[spec.flite_voice]
    return min(N_BANDS - 1, int((spec.f0_scale - low) / (high - low) * N_BANDS))


def _sample(rng: random.Random, index: int, prefix: str, bands: tuple[int, ...]) -> SpeakerSpec:
    variant = sorted(VOICE_TABLE)[index % len(VOICE_TABLE)]
    gender, voice = VOICE_TABLE[variant]
    low, high = F0_RANGE[voice]
    width = (high - low) / N_BANDS
    band = rng.choice(bands)
    f0 = low + width * (band + 0.05 + 0.9 * rng.random())  # stay clear of band edges
    warp = rng.uniform(*WARP_RANGE[voice])
    rate = rng.uniform(*RATE_RANGE)
    return SpeakerSpec(f"{prefix}{index:03d}", gender, variant, voice, round(f0, 4), round(warp, 4), round(rate, 4))


def sample_speakers(k: int, rng: random.Random) -> list[SpeakerSpec]:
    """``k`` training speakers, cycling through every variant so all voices are covered."""
    return [_sample(rng, i, "spk", SEEN_BANDS) for i in range(k)]


def sample_unseen_speakers(k: int, rng: random.Random) -> list[SpeakerSpec]:
    """``k`` speakers whose F0 transforms lie in bands no training speaker uses (same variant/voice pairs)."""
    return [_sample(rng, i, "new", UNSEEN_BANDS) for i in range(k)]


def _warp_axis(matrix: np.ndarray, warp: float) -> np.ndarray:
    """Frequency-warp each frame (frames, bins): out[k] = in[k / warp] (warp > 1 raises formants)."""
    bins = np.arange(matrix.shape[1], dtype=np.float64)
    source = np.clip(bins / warp, 0, matrix.shape[1] - 1)
    return np.stack([np.interp(source, bins, frame) for frame in matrix])


def render(wave: np.ndarray, spec: SpeakerSpec, sample_rate: int = DEFAULT_MEL.sample_rate) -> np.ndarray:
    """Apply the speaker's WORLD transform (F0 × f0_scale, envelope and aperiodicity warped by ``warp``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyworld

    if spec.f0_scale == 1.0 and spec.warp == 1.0:
        return np.asarray(wave, dtype=np.float32)
    x = np.asarray(wave, dtype=np.float64)
    f0, times = pyworld.dio(x, sample_rate)
    f0 = pyworld.stonemask(x, f0, times, sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pyworld.d4c(x, f0, times, sample_rate)
    if spec.warp != 1.0:
        envelope = _warp_axis(envelope, spec.warp)
        aperiodicity = _warp_axis(aperiodicity, spec.warp)
    y = pyworld.synthesize(f0 * spec.f0_scale, np.ascontiguousarray(envelope), np.ascontiguousarray(aperiodicity),
                           sample_rate)
    return y[: x.size].astype(np.float32)


def speak_french(text: str, spec: SpeakerSpec) -> np.ndarray:
    """The speaker's French (espeak-ng variant, rate, WORLD transform)."""
    wave = tts.espeak(text, "fr", spec.espeak_variant, int(round(ESPEAK_WORDS_PER_MINUTE * spec.rate)))
    return render(wave, spec)


def speak_english(text: str, spec: SpeakerSpec) -> np.ndarray:
    """The speaker's English (their flite voice, rate, the same WORLD transform)."""
    return render(tts.flite(text, spec.flite_voice, duration_stretch=1.0 / spec.rate), spec)
