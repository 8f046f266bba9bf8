"""Speech-translation examples from an S2ST manifest: source log-mels (computed once, kept in memory) and texts, and
optionally seeded augmented copies of every source (`data.augment`), rendered when they are read."""

from __future__ import annotations

import os
import zlib
from typing import Mapping

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import MelConfig, load_audio, log_mel, pad_mels
from ..audio.normalization import mel_statistics
from ..data.augment import Augmenter, AugmentConfig
from ..data.manifest import S2STRecord, read_manifest, resolve_audio, weighted_order
from ..errors import DataError
from .tokenizer import CharTokenizer


class SourceMels(Dataset):
    """Items: (log-mel (n_mels, frames), source text, target text).

    With ``augment`` and ``augmented_copies`` K, the dataset holds K + 1 views of every utterance: index i is
    utterance i mod N, clean for i < N, else augmented with a seed fixed by (``augment_seed``, i). A view is thus
    the same every time it is read (the training harness's step-determinism holds) and different views of one
    utterance differ. The source waves stay in memory as 16-bit samples for that.

    ``family_weights`` (e.g. {"kokoro": 3}) repeats the utterances of a voice family (corpus v2's
    ``speaker_spec.family``) that many times in every view, so a family the model hears too little of weighs more;
    the repeated augmented views differ (their index, hence their seed, differs)."""

    def __init__(self, manifest: str | os.PathLike, mel: MelConfig, limit: int | None = None,
                 progress: bool = True, augment: AugmentConfig | None = None, augmented_copies: int = 0,
                 augment_seed: int = 0, family_weights: Mapping[str, int] | None = None) -> None:
        if augmented_copies < 0 or (augmented_copies and augment is None):
            raise DataError("augmented_copies must be >= 0 and needs an augment configuration")
        self.records = read_manifest(manifest, S2STRecord)[:limit]
        if not self.records:
            raise DataError(f"{manifest} holds no records")
        self.order = weighted_order(self.records, family_weights or {})
        self.mel, self.copies, self.augment_seed = mel, augmented_copies, augment_seed
        self.augmenter = Augmenter(augment, mel.sample_rate) if augmented_copies else None
        self.mels, self.waves = [], []
        for record in tqdm(self.records, desc="source log-mels", disable=not progress, leave=False):
            wave = load_audio(resolve_audio(manifest, record.src_audio), mel.sample_rate, max_seconds=None)
            self.mels.append(log_mel(wave, mel))
            if self.augmenter is not None:
                self.waves.append(np.round(np.clip(wave, -1.0, 1.0) * 32767.0).astype(np.int16))

    def __len__(self) -> int:
        return len(self.order) * (1 + self.copies)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str]:
        utterance = self.order[index % len(self.order)]
        record = self.records[utterance]
        if index < len(self.order):
            return self.mels[utterance], record.src_text, record.tgt_text
        seed = zlib.crc32(f"{self.augment_seed}:{index}".encode())
        wave, _ = self.augmenter(self.waves[utterance].astype(np.float32) / 32767.0, seed)
        return log_mel(wave, self.mel), record.src_text, record.tgt_text

    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-bin mean and std over every frame of every utterance (utterances differ in length: one long one)."""
        return mel_statistics(torch.cat(self.mels, dim=1)[None])


class TranslationCollate:
    """Pads a list of items into the batch dict `SpeechTranslator.loss` reads."""

    def __init__(self, mel: MelConfig, src_tokenizer: CharTokenizer, tgt_tokenizer: CharTokenizer) -> None:
        self.mel = mel
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer

    def __call__(self, items: list[tuple[torch.Tensor, str, str]]) -> dict[str, torch.Tensor]:
        mel, lengths = pad_mels([m for m, _, _ in items], self.mel)
        return {"mel": mel, "lengths": lengths, "src": self.src_tokenizer.batch([s for _, s, _ in items]),
                "tgt": self.tgt_tokenizer.batch([t for _, _, t in items])}
