"""Speaker similarity with Resemblyzer (GE2E d-vectors; the pretrained encoder ships in the wheel). Never part of a
model it judges: our own speaker encoder lives elsewhere."""

from __future__ import annotations

import warnings

import numpy as np

from ..audio import MelConfig


class SpeakerSimilarity:
    """``embed(wave)`` -> unit vector (256,); ``similarity(a, b)`` -> cosine of two waves' embeddings."""

    def __init__(self, mel: MelConfig) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resemblyzer imports pkg_resources, which warns
            from resemblyzer import VoiceEncoder, preprocess_wav
        self._preprocess = preprocess_wav
        self.encoder = VoiceEncoder(device="cpu", verbose=False)
        self.sample_rate = mel.sample_rate

    def embed(self, wave: np.ndarray) -> np.ndarray:
        processed = self._preprocess(np.asarray(wave, dtype=np.float32), source_sr=self.sample_rate)
        if processed.size < self.sample_rate // 10:  # Resemblyzer's VAD removed (nearly) everything
            processed = np.asarray(wave, dtype=np.float32)
        embedding = self.encoder.embed_utterance(processed)
        return embedding / (np.linalg.norm(embedding) + 1e-12)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(self.embed(a), self.embed(b)))


def equal_error_rate(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """EER and its threshold for scores where same-speaker pairs should score higher than different-speaker ones.

    Sweeps every observed score as threshold; the EER is the point where the false-accept rate (different pairs
    at or above the threshold) meets the false-reject rate (same pairs below it), averaged at the crossing.
    """
    same, different = np.asarray(same, dtype=float), np.asarray(different, dtype=float)
    if same.size == 0 or different.size == 0:
        raise ValueError("EER needs at least one same-speaker and one different-speaker score")
    thresholds = np.unique(np.concatenate([same, different]))
    false_accept = np.array([(different >= t).mean() for t in thresholds])
    false_reject = np.array([(same < t).mean() for t in thresholds])
    index = int(np.argmin(np.abs(false_accept - false_reject)))
    return float((false_accept[index] + false_reject[index]) / 2), float(thresholds[index])
