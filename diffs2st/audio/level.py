"""Level normalisation and silence-based splitting of long audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _frame_energy_db(wave: np.ndarray, frame: int) -> np.ndarray:
    """Mean-square energy in dB of non-overlapping frames of ``frame`` samples (last frame zero-padded)."""
    n_frames = max(1, -(-wave.size // frame))
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[: wave.size] = wave
    power = (padded.reshape(n_frames, frame) ** 2).mean(axis=1)
    return 10 * np.log10(power + 1e-12)


def active_level_db(wave: np.ndarray, sample_rate: int, floor_db: float = -50.0) -> float:
    """RMS level (dBFS) over frames within ``-floor_db`` dB of the loudest frame (a simple active-speech level)."""
    energy = _frame_energy_db(np.asarray(wave, dtype=np.float64), int(0.02 * sample_rate))
    active = energy[energy > energy.max() + floor_db]
    return float(10 * np.log10(np.mean(10 ** (active / 10)) + 1e-12))


def normalize_loudness(wave: np.ndarray, sample_rate: int, target_db: float = -26.0,
                       peak_limit: float = 0.99) -> np.ndarray:
    """Scale ``wave`` so its active level is ``target_db`` dBFS, scaled down further if the peak would exceed
    ``peak_limit`` (a gain change only: no clipping, no compression)."""
    wave = np.asarray(wave, dtype=np.float32)
    gain = 10 ** ((target_db - active_level_db(wave, sample_rate)) / 20)
    peak = float(np.abs(wave).max()) * gain
    if peak > peak_limit:
        gain *= peak_limit / peak
    return (wave * gain).astype(np.float32)


@dataclass(frozen=True)
class Segment:
    """A span of samples ``[start, end)`` of the original wave."""

    start: int
    end: int


def split_on_silence(wave: np.ndarray, sample_rate: int, max_seconds: float = 20.0,
                     min_silence_seconds: float = 0.25, threshold_db: float = -40.0,
                     frame_seconds: float = 0.02) -> list[Segment]:
    """Cut ``wave`` into consecutive segments no longer than ``max_seconds``, at silences where possible.

    A frame is silent when its energy is ``threshold_db`` below the loudest frame. Cuts go in the middle of the
    longest silence (at least ``min_silence_seconds``) that keeps the segment under the limit; without one, at the
    quietest frame. Segments tile the whole input: nothing is dropped.
    """
    wave = np.asarray(wave)
    frame = max(1, int(frame_seconds * sample_rate))
    energy = _frame_energy_db(wave.astype(np.float64), frame)
    silent = energy < energy.max() + threshold_db
    max_frames = max(1, int(max_seconds * sample_rate) // frame)
    min_silence = max(1, int(round(min_silence_seconds / frame_seconds)))

    cuts, start = [], 0
    n_frames = energy.size
    while n_frames - start > max_frames:
        window = slice(start + 1, start + max_frames + 1)
        best = _longest_silence_centre(silent[window], min_silence)
        cut = start + 1 + (best if best is not None else int(np.argmin(energy[window])))
        cuts.append(cut)
        start = cut
    bounds = [0] + [c * frame for c in cuts] + [wave.size]
    return [Segment(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _longest_silence_centre(silent: np.ndarray, min_length: int) -> int | None:
    """Index of the centre of the longest run of True of at least ``min_length``, latest on ties."""
    best_len, best_centre, run = 0, None, 0
    for i, value in enumerate(silent):
        run = run + 1 if value else 0
        if run >= min_length and run >= best_len:
            best_len, best_centre = run, i - run // 2
    return best_centre
