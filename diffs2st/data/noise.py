"""Noise families for synth-noisy, each ``noise(samples, rng, sample_rate) -> float32`` at unit RMS, in `NOISES`.

babble needs other talkers and is built by the builder from synthetic speech (see `babble_from`); reverb is applied
to the speech itself (`reverberate`)."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from ..registry import Registry

NOISES: Registry = Registry("noise family")
FAMILIES = ("white", "pink", "brown", "babble", "hum", "bursts", "bandlimited", "reverb")


def _unit(noise: np.ndarray) -> np.ndarray:
    return (noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)).astype(np.float32)


def _coloured(samples: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power spectrum ∝ 1/f^exponent (0 white, 1 pink, 2 brown), shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.maximum(np.fft.rfftfreq(samples), 1.0 / samples)
    return _unit(np.fft.irfft(spectrum / freqs ** (exponent / 2), n=samples))


@NOISES.register("white")
def white(samples, rng, sample_rate):
    return _unit(rng.standard_normal(samples))


@NOISES.register("pink")
def pink(samples, rng, sample_rate):
    return _coloured(samples, rng, 1.0)


@NOISES.register("brown")
def brown(samples, rng, sample_rate):
    return _coloured(samples, rng, 2.0)


@NOISES.register("hum")
def hum(samples, rng, sample_rate):
    """Mains hum: 50 or 60 Hz with decaying harmonics and a little broadband floor."""
    t = np.arange(samples) / sample_rate
    base = rng.choice([50.0, 60.0])
    tone = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
    return _unit(tone + 0.05 * rng.standard_normal(samples))


@NOISES.register("bursts")
def bursts(samples, rng, sample_rate):
    """Non-stationary: bursts of filtered noise 50-400 ms long at random times over a quiet floor."""
    out = 0.05 * rng.standard_normal(samples)
    for _ in range(max(1, int(rng.poisson(3 * samples / sample_rate)))):
        length = int(rng.uniform(0.05, 0.4) * sample_rate)
        start = int(rng.integers(0, max(1, samples - length)))
        envelope = np.hanning(length)
        out[start:start + length] += envelope[: samples - start] * rng.standard_normal(length)[: samples - start] * \
            rng.uniform(1, 4)
    return _unit(out)


@NOISES.register("bandlimited")
def bandlimited(samples, rng, sample_rate):
    """Noise through a random band-pass (e.g. machinery or fans), 4th-order Butterworth."""
    low = rng.uniform(100, 2000)
    high = min(low * rng.uniform(1.5, 4), 0.45 * sample_rate)
    sos = butter(4, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    return _unit(sosfilt(sos, rng.standard_normal(samples)))


def babble_from(talkers: list[np.ndarray], samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sum of 3-6 other talkers, each looped to length and started at a random offset."""
    out = np.zeros(samples)
    for talker in talkers:
        looped = np.resize(_unit(talker), samples + talker.size)
        offset = int(rng.integers(0, max(1, talker.size)))
        out += looped[offset:offset + samples]
    return _unit(out)


def reverberate(wave: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Convolve with a synthetic room response: exponentially decaying noise, RT60 0.3-0.9 s."""
    rt60 = rng.uniform(0.3, 0.9)
    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    response = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
    response[0] = 1.0
    wet = fftconvolve(wave, response)[: wave.size]
    return (wet * np.sqrt(np.mean(wave ** 2) / (np.mean(wet ** 2) + 1e-12))).astype(np.float32)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """clean + noise scaled so that 10·log10(P_clean / P_noise) = snr_db."""
    gain = np.sqrt(np.mean(clean ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10) + 1e-12))
    return (clean + gain * noise[: clean.size]).astype(np.float32)
