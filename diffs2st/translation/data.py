"""Speech-translation examples from an S2ST manifest: source log-mels (computed once, kept in memory) and texts."""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import MelConfig, load_audio, log_mel, pad_mels
from ..audio.normalization import mel_statistics
from ..data.manifest import S2STRecord, read_manifest, resolve_audio
from ..errors import DataError
from .tokenizer import CharTokenizer


class SourceMels(Dataset):
    """Items: (log-mel (n_mels, frames), source text, target text)."""

    def __init__(self, manifest: str | os.PathLike, mel: MelConfig, limit: int | None = None,
                 progress: bool = True) -> None:
        self.records = read_manifest(manifest, S2STRecord)[:limit]
        if not self.records:
            raise DataError(f"{manifest} holds no records")
        self.mels = [log_mel(load_audio(resolve_audio(manifest, r.src_audio), mel.sample_rate, max_seconds=None), mel)
                     for r in tqdm(self.records, desc="source log-mels", disable=not progress, leave=False)]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str]:
        record = self.records[index]
        return self.mels[index], record.src_text, record.tgt_text

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
