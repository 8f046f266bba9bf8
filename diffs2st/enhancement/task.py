"""Training tasks "score-enhancer" (conditional or prior score model) and "enhancement-classifier" (noise-aware
speaker classifier for classifier guidance), both on clean/noisy pairs of an enhancement manifest:

    diffs2st train configs/enhance-conditional.yaml --out runs/enhance-conditional
    diffs2st train configs/enhance-prior.yaml --out runs/enhance-prior
    diffs2st train configs/enhance-classifier.yaml --out runs/enhance-classifier
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import load_audio
from ..data.manifest import EnhancementRecord, read_manifest, resolve_audio
from ..errors import ConfigError, DataError
from ..training.tasks import TASKS
from .score import PEAK_FLOOR, ScoreEnhancer, ScoreEnhancerConfig, SpeakerClassifier, SpeakerClassifierConfig


@dataclass(frozen=True)
class EnhancementDataConfig:
    train_manifest: str = "corpora/synth-noisy/train.jsonl"
    segment_samples: int = 32640  # 256 STFT frames at hop 128
    segments_per_clip: int = 8
    seed: int = 0
    limit: Optional[int] = None
    progress: bool = True


class NoisyCleanSegments(Dataset):
    """Item i = the same random crop of clip i mod N's clean and noisy waves (zero-padded if shorter), both divided
    by the noisy clip's peak (the enhancer's inference scaling), and the speaker's index. The crop depends only on
    (seed, i). All clips are held in memory (synth-noisy train: ~1000 clips, ~200 MB)."""

    def __init__(self, manifest: str, sample_rate: int, segment_samples: int, segments_per_clip: int = 1,
                 seed: int = 0, limit: int | None = None, speakers: tuple[str, ...] = (),
                 progress: bool = True) -> None:
        if segment_samples <= 0 or segments_per_clip <= 0:
            raise ConfigError("data.segment_samples and data.segments_per_clip must be positive")
        records = read_manifest(manifest, EnhancementRecord)[:limit]
        if not records:
            raise DataError(f"{manifest} holds no records")
        self.speakers = speakers or tuple(sorted({r.speaker for r in records}))
        index = {name: i for i, name in enumerate(self.speakers)}
        self.pairs, self.labels = [], []
        for record in tqdm(records, desc="loading pairs", disable=not progress):
            clean = load_audio(resolve_audio(manifest, record.clean_audio), sample_rate, max_seconds=None)
            noisy = load_audio(resolve_audio(manifest, record.noisy_audio), sample_rate, max_seconds=None)
            if clean.size != noisy.size:
                raise DataError(f"{record.id}: clean and noisy audio differ in length")
            peak = max(float(np.abs(noisy).max()), PEAK_FLOOR)
            self.pairs.append((clean / peak, noisy / peak))
            self.labels.append(index.get(record.speaker, -1))
        self.segment_samples, self.segments_per_clip, self.seed = segment_samples, segments_per_clip, seed

    def __len__(self) -> int:
        return len(self.pairs) * self.segments_per_clip

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        clip = index % len(self.pairs)
        clean, noisy = self.pairs[clip]
        size = self.segment_samples
        if clean.size >= size:
            start = int(np.random.default_rng([self.seed, index]).integers(0, clean.size - size + 1))
            clean, noisy = clean[start:start + size], noisy[start:start + size]
        else:
            clean, noisy = np.pad(clean, (0, size - clean.size)), np.pad(noisy, (0, size - noisy.size))
        return (torch.from_numpy(np.ascontiguousarray(clean, dtype=np.float32)),
                torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32)), self.labels[clip])


def _segments(data: EnhancementDataConfig, sample_rate: int, speakers: tuple[str, ...] = ()) -> NoisyCleanSegments:
    return NoisyCleanSegments(data.train_manifest, sample_rate, data.segment_samples, data.segments_per_clip,
                              data.seed, data.limit, speakers, data.progress)


@TASKS.register("score-enhancer")
class ScoreEnhancerTask:
    model_config = ScoreEnhancerConfig
    data_config = EnhancementDataConfig

    def build(self, model: ScoreEnhancerConfig, data: EnhancementDataConfig):
        segments = _segments(data, model.spectrogram.sample_rate)
        torch.manual_seed(data.seed)
        return ScoreEnhancer(model), segments, None


@TASKS.register("enhancement-classifier")
class EnhancementClassifierTask:
    model_config = SpeakerClassifierConfig
    data_config = EnhancementDataConfig

    def build(self, model: SpeakerClassifierConfig, data: EnhancementDataConfig):
        segments = _segments(data, model.spectrogram.sample_rate, model.speakers)
        if min(segments.labels) < 0:
            raise DataError("the manifest has speakers the classifier config does not list")
        config = dataclasses.replace(model, speakers=segments.speakers, classifier=dataclasses.replace(
            model.classifier, num_classes=len(segments.speakers)))
        torch.manual_seed(data.seed)
        return SpeakerClassifier(config), segments, None
