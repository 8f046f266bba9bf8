"""Seeded waveform augmentation for training data (DESIGN §4) and for corpus v2's test-noisy split.

``Augmenter(config, sample_rate)(wave, seed) -> (wave, applied)``: each step runs with its probability, in this
order, every random choice drawn from ``numpy.random.default_rng(seed)`` (never from a global generator), so the
same (wave, seed, config) always gives the same output:

0. silence padding: digital silence of random length before and after (what a voice-activity detector's padding
   or a recording's start gives a model that was trained on tightly cut clips);
1. speed perturbation: resample by a factor (tempo and pitch together, as Kaldi's 0.9/1.0/1.1), `soxr`;
2. reverberation: a shoebox room with a target RT60 simulated by the image-source method (`pyroomacoustics`),
   source and microphone placed at random, the response normalised so the speech keeps its level;
3. band-limiting: a high-pass and/or low-pass Butterworth filter (`audiomentations`);
4. codec: telephone G.711 — down to 8 kHz, 8-bit μ-law, back up;
5. additive noise from synth-noisy's families (`noise.NOISES`) at an SNR in ``snr_db``.

``applied`` names every step taken and its parameters (written next to test-noisy's manifest); `Augmenter.draw`
makes them without touching audio, `Augmenter.apply` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import MelConfig
from ..errors import ConfigError
from .noise import NOISES, mix_at_snr

TRAIN_NOISES = ("white", "pink", "brown", "hum", "bursts", "bandlimited")
MU = 255.0
TELEPHONE_RATE = 8000


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each step (a probability of 0 switches the step off)."""

    speed_probability: float = 0.3
    speed_range: tuple[float, float] = (0.9, 1.1)
    reverb_probability: float = 0.3
    rt60_range: tuple[float, float] = (0.2, 0.8)
    room_min: tuple[float, float, float] = (3.0, 3.0, 2.4)
    room_max: tuple[float, float, float] = (10.0, 8.0, 4.0)
    mic_distance_range: tuple[float, float] = (0.5, 3.0)
    bandlimit_probability: float = 0.2
    highpass_hz: tuple[float, float] = (60.0, 300.0)
    lowpass_hz: tuple[float, float] = (3400.0, 7000.0)
    codec_probability: float = 0.1
    noise_probability: float = 0.5
    noise_families: tuple[str, ...] = TRAIN_NOISES
    snr_db: tuple[float, float] = (5.0, 30.0)
    pad_probability: float = 0.0
    pad_seconds: tuple[float, float] = (0.0, 0.5)  # before and after, each drawn

    def __post_init__(self) -> None:
        for name in ("speed", "reverb", "bandlimit", "codec", "noise", "pad"):
            value = getattr(self, f"{name}_probability")
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"augment {name}_probability must be in [0, 1], got {value}")
        for name in ("speed_range", "rt60_range", "mic_distance_range", "highpass_hz", "lowpass_hz", "snr_db",
                     "pad_seconds"):
            low, high = getattr(self, name)
            if low > high:
                raise ConfigError(f"augment {name} must be (low, high), got ({low}, {high})")
        if self.speed_range[0] <= 0 or self.rt60_range[0] <= 0:
            raise ConfigError("augment speed_range and rt60_range must be positive")
        if self.pad_seconds[0] < 0:
            raise ConfigError("augment pad_seconds must not be negative")
        unknown = [n for n in self.noise_families if n not in NOISES]
        if unknown:
            raise ConfigError(f"unknown noise family {unknown[0]!r} (known: {', '.join(NOISES.names())})")
        if self.noise_probability > 0 and not self.noise_families:
            raise ConfigError("augment noise_probability > 0 needs at least one noise family")


# test-noisy: every utterance reverberant and noisy, nothing else.
NOISY_TEST = AugmentConfig(speed_probability=0.0, reverb_probability=1.0, rt60_range=(0.2, 0.7),
                           bandlimit_probability=0.0, codec_probability=0.0, noise_probability=1.0,
                           snr_db=(5.0, 20.0))


def change_speed(wave: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``wave`` ``factor`` times faster (length / factor, pitch × factor) by resampling."""
    import soxr

    return soxr.resample(wave, sample_rate * factor, sample_rate, quality="HQ").astype(np.float32)


def draw_room(rng: np.random.Generator, config: AugmentConfig) -> dict:
    """A random shoebox room: size, target RT60, source and microphone positions (metres)."""
    size = rng.uniform(config.room_min, config.room_max)
    rt60 = float(rng.uniform(*config.rt60_range))
    margin = 0.5
    source = rng.uniform([margin] * 3, size - margin)
    direction = rng.normal(size=3)
    distance = float(rng.uniform(*config.mic_distance_range))
    microphone = np.clip(source + distance * direction / np.linalg.norm(direction), margin, size - margin)
    return {"rt60": round(rt60, 3), "room": [round(float(v), 3) for v in size],
            "source": [round(float(v), 3) for v in source], "microphone": [round(float(v), 3) for v in microphone]}


def room_response(room: dict, sample_rate: int) -> np.ndarray:
    """Impulse response of ``room`` (`draw_room`) with its RT60 by Sabine's formula, by the image-source method."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(room["rt60"], room["room"])
    simulated = pra.ShoeBox(room["room"], fs=sample_rate, materials=pra.Material(absorption),
                            max_order=min(max_order, 40))
    simulated.add_source(room["source"])
    simulated.add_microphone(room["microphone"])
    simulated.compute_rir()
    return np.asarray(simulated.rir[0][0], dtype=np.float64)


def reverberate(wave: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Convolve with ``response``, aligned on its direct path and rescaled to the dry RMS."""
    from scipy.signal import fftconvolve

    start = int(np.argmax(np.abs(response)))
    wet = fftconvolve(wave, response[start:])[: wave.size]
    return (wet * np.sqrt(np.mean(wave ** 2) / (np.mean(wet ** 2) + 1e-12))).astype(np.float32)


def band_limit(wave: np.ndarray, highpass: float | None, lowpass: float | None, sample_rate: int) -> np.ndarray:
    """Butterworth high-pass and/or low-pass, 12 dB/octave (audiomentations' filters, parameters given)."""
    from audiomentations import HighPassFilter, LowPassFilter

    out = np.asarray(wave, dtype=np.float32)
    for cutoff, kind in ((highpass, HighPassFilter), (lowpass, LowPassFilter)):
        if cutoff is None:
            continue
        step = kind(min_cutoff_freq=cutoff, max_cutoff_freq=cutoff, min_rolloff=12, max_rolloff=12, p=1.0)
        step.parameters.update(cutoff_freq=cutoff, rolloff=12)  # set, not drawn: audiomentations draws globally
        out = step.apply(out, sample_rate)
    return out


def telephone(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """G.711 μ-law telephony: resample to 8 kHz, quantise to 8 bits in the μ-law domain, resample back."""
    import soxr

    narrow = soxr.resample(wave, sample_rate, TELEPHONE_RATE, quality="HQ")
    scale = max(float(np.abs(narrow).max()), 1e-9)
    x = np.clip(narrow / scale, -1.0, 1.0)
    coded = np.round(np.sign(x) * np.log1p(MU * np.abs(x)) / np.log1p(MU) * 127.0) / 127.0
    decoded = np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(MU)) / MU * scale
    return soxr.resample(decoded, TELEPHONE_RATE, sample_rate, quality="HQ")[: wave.size].astype(np.float32)


class Augmenter:
    """``augmenter(wave, seed) -> (augmented float32, applied steps)``; see the module docstring for the order.
    ``draw(seed)`` gives the steps alone (cheap: no audio), ``apply(wave, steps)`` renders them."""

    def __init__(self, config: AugmentConfig = AugmentConfig(), sample_rate: int = MelConfig().sample_rate) -> None:
        self.config, self.sample_rate = config, sample_rate

    def draw(self, seed: int) -> dict:
        """Every random choice of one augmentation, from ``numpy.random.default_rng(seed)``."""
        config = self.config
        rng = np.random.default_rng(seed)
        # every step's coin is drawn whether or not it comes up, so switching one step off leaves the others alone
        take = {name: rng.random() < getattr(config, f"{name}_probability")
                for name in ("speed", "reverb", "bandlimit", "codec", "noise")}
        steps: dict = {}
        if take["speed"]:
            steps["speed"] = round(float(rng.uniform(*config.speed_range)), 4)
        if take["reverb"]:
            steps["reverb"] = draw_room(rng, config)
        if take["bandlimit"]:
            which = int(rng.integers(0, 3))  # 0 high-pass, 1 low-pass, 2 both
            steps["bandlimit"] = {"highpass": round(float(rng.uniform(*config.highpass_hz))) if which != 1 else None,
                                  "lowpass": round(float(rng.uniform(*config.lowpass_hz))) if which != 0 else None}
        if take["codec"]:
            steps["codec"] = "g711-mulaw"
        if take["noise"]:
            steps["noise"] = {"family": config.noise_families[int(rng.integers(0, len(config.noise_families)))],
                              "snr_db": round(float(rng.uniform(*config.snr_db)), 2),
                              "seed": int(rng.integers(0, 2 ** 31))}
        # drawn after everything else, so the steps above are what they were before padding existed (test-noisy)
        if rng.random() < config.pad_probability:
            steps["pad"] = [round(float(v), 3) for v in rng.uniform(*config.pad_seconds, size=2)]
        return steps

    def apply(self, wave: np.ndarray, steps: dict) -> np.ndarray:
        """Render ``steps`` (from `draw`) on ``wave``; peaks above 0.99 are scaled down."""
        rate = self.sample_rate
        out = np.asarray(wave, dtype=np.float32)
        if "pad" in steps:
            before, after = (np.zeros(int(round(seconds * rate)), dtype=np.float32) for seconds in steps["pad"])
            out = np.concatenate([before, out, after])
        if "speed" in steps:
            out = change_speed(out, steps["speed"], rate)
        if "reverb" in steps:
            out = reverberate(out, room_response(steps["reverb"], rate))
        if "bandlimit" in steps:
            out = band_limit(out, steps["bandlimit"]["highpass"], steps["bandlimit"]["lowpass"], rate)
        if "codec" in steps:
            out = telephone(out, rate)
        if "noise" in steps:
            noise = NOISES.get(steps["noise"]["family"])(out.size, np.random.default_rng(steps["noise"]["seed"]), rate)
            out = mix_at_snr(out, noise, steps["noise"]["snr_db"])
        peak = float(np.abs(out).max()) if out.size else 0.0
        if peak > 0.99:
            out = out * np.float32(0.99 / peak)
        return out.astype(np.float32)

    def __call__(self, wave: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
        steps = self.draw(seed)
        return self.apply(wave, steps), steps
