"""Spoken-digit mel images from a `SpeechRecord` manifest with digit labels (synth-digits, AudioMNIST, FSDD)."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import MelConfig, load_audio, log_mel
from ..audio.normalization import MelNormalizer, mel_statistics
from ..data.manifest import SpeechRecord, read_manifest, resolve_audio
from ..errors import DataError


def fit_frames(mel: torch.Tensor, frames: int, floor: float) -> torch.Tensor:
    """Centre a (n_mels, T) log-mel in ``frames`` columns: pad with silence (``floor``) or crop the middle."""
    length = mel.shape[-1]
    if length >= frames:
        start = (length - frames) // 2
        return mel[..., start:start + frames]
    left = (frames - length) // 2
    out = torch.full((*mel.shape[:-1], frames), floor, dtype=mel.dtype)
    out[..., left:left + length] = mel
    return out


class DigitMels(Dataset):
    """All clips of a manifest as fixed-width log-mels (computed once, kept in memory: digits are small).

    Items are (log-mel (n_mels, frames), label) — not normalised; the model normalises.
    """

    def __init__(self, manifest: str | os.PathLike, mel: MelConfig, frames: int, progress: bool = True) -> None:
        records = read_manifest(manifest, SpeechRecord)
        if not records:
            raise DataError(f"{manifest} holds no records")
        unlabeled = [r.id for r in records if r.label is None or not r.label.isdigit() or len(r.label) != 1]
        if unlabeled:
            raise DataError(f"{manifest}: {len(unlabeled)} records have no digit label 0-9 (first: {unlabeled[0]})")
        floor = float(np.log(mel.log_floor))
        mels = []
        for record in tqdm(records, desc="digit mels", disable=not progress, leave=False):
            wave = load_audio(resolve_audio(manifest, record.audio), mel.sample_rate)
            mels.append(fit_frames(log_mel(wave, mel), frames, floor))
        self.mels = torch.stack(mels)
        self.labels = torch.tensor([int(r.label) for r in records], dtype=torch.long)
        self.records = records

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mels[index], self.labels[index]

    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-bin mean and standard deviation over all clips and frames."""
        return mel_statistics(self.mels)


class NormalizedDigitMels(Dataset):
    """`DigitMels` normalised as the model trains on them."""

    def __init__(self, base: DigitMels, normalizer: MelNormalizer) -> None:
        self.base = base
        self.normalized = normalizer.normalize(base.mels)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.normalized[index], self.base.labels[index]
