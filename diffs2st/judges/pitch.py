"""How high and how varied a voice is: F0 by probabilistic YIN (`librosa.pyin`), over its voiced frames only."""

from __future__ import annotations

import math

import numpy as np

F0_MIN_HZ, F0_MAX_HZ = 50.0, 500.0  # covers low male to high female and child-like synthetic voices
MIN_VOICED_FRAMES = 5  # fewer voiced frames than this: no F0 statistics (silence, noise, a click)


def f0_statistics(wave: np.ndarray, sample_rate: int) -> dict[str, float]:
    """``f0_median`` (Hz) and ``f0_range`` (semitones from the 5th to the 95th percentile) of the voiced frames, and
    the ``voiced_fraction`` of frames; both F0 values are NaN when fewer than MIN_VOICED_FRAMES frames are voiced."""
    import librosa

    wave = np.asarray(wave, dtype=np.float32)
    frame = 2 ** math.ceil(math.log2(2 * sample_rate / F0_MIN_HZ))  # >= two periods of the lowest F0
    if wave.size < frame:
        return {"f0_median": math.nan, "f0_range": math.nan, "voiced_fraction": 0.0}
    f0, voiced, _ = librosa.pyin(wave, fmin=F0_MIN_HZ, fmax=F0_MAX_HZ, sr=sample_rate, frame_length=frame,
                                 hop_length=frame // 4)
    values = f0[voiced & np.isfinite(f0)]
    if values.size < MIN_VOICED_FRAMES:
        return {"f0_median": math.nan, "f0_range": math.nan, "voiced_fraction": float(np.mean(voiced))}
    low, high = np.percentile(values, [5, 95])
    return {"f0_median": float(np.median(values)), "f0_range": float(12 * np.log2(high / low)),
            "voiced_fraction": float(np.mean(voiced))}
