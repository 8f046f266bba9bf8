"""Training clips for the speaker encoder: every clip of a manifest (both languages of an S2ST pair) with its
speaker index and, where the corpus records it, the speaker's voice parameters."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..audio import MelConfig, load_audio, log_mel
from ..audio.normalization import mel_statistics
from ..data.manifest import manifest_clips_with_specs
from ..errors import ConfigError, DataError
from .encoder import SPEC_KEYS


def spec_vector(spec: dict | None) -> tuple[torch.Tensor, bool]:
    """Logs of the voice parameters in `SPEC_KEYS` (zeros and False when the clip has no complete spec)."""
    if not spec or any(key not in spec for key in SPEC_KEYS):
        return torch.zeros(len(SPEC_KEYS)), False
    return torch.tensor([float(np.log(spec[key])) for key in SPEC_KEYS]), True


class SpeakerClips(Dataset):
    """Item i = a ``segment_frames`` crop of clip i mod N (clips shorter than that are repeated to fill it), chosen
    by (seed, i) so sampling is step-deterministic: (log-mel (n_mels, segment_frames), speaker index, spec (3,),
    has_spec). Log-mels are computed once and kept in memory as float16."""

    def __init__(self, manifest: str | os.PathLike, mel: MelConfig, segment_frames: int, segments_per_clip: int = 1,
                 speakers: tuple[str, ...] = (), seed: int = 0, limit: int | None = None,
                 progress: bool = True) -> None:
        if segment_frames < 8:
            raise ConfigError(f"data.segment_frames must be >= 8, got {segment_frames}")
        clips = manifest_clips_with_specs(manifest)[:limit]
        if not clips:
            raise DataError(f"{manifest} lists no audio")
        self.speakers = speakers or tuple(sorted({speaker for _, speaker, _ in clips}))
        unknown = sorted({speaker for _, speaker, _ in clips} - set(self.speakers))
        if unknown:
            raise DataError(f"{manifest}: speakers {unknown[:3]} are not among the model's training speakers")
        index = {speaker: i for i, speaker in enumerate(self.speakers)}
        self.labels = torch.tensor([index[speaker] for _, speaker, _ in clips])
        specs = [spec_vector(spec) for _, _, spec in clips]
        self.specs = torch.stack([vector for vector, _ in specs])
        self.has_spec = torch.tensor([present for _, present in specs])
        self.mels = [log_mel(load_audio(path, mel.sample_rate, max_seconds=None), mel).half()
                     for path, _, _ in tqdm(clips, desc="speaker clips", disable=not progress, leave=False)]
        self.segment_frames, self.segments_per_clip, self.seed = segment_frames, segments_per_clip, seed

    def __len__(self) -> int:
        return len(self.mels) * self.segments_per_clip

    def __getitem__(self, index: int):
        clip = index % len(self.mels)
        mel = self.mels[clip].float()
        if mel.shape[-1] < self.segment_frames:
            mel = mel.repeat(1, -(-self.segment_frames // mel.shape[-1]))
        start = int(np.random.default_rng([self.seed, index]).integers(0, mel.shape[-1] - self.segment_frames + 1))
        return mel[:, start:start + self.segment_frames], self.labels[clip], self.specs[clip], self.has_spec[clip]

    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-bin mean and std over every frame of every clip."""
        return mel_statistics(torch.cat(self.mels, dim=1).float()[None])


def collate_speaker_clips(items) -> dict[str, torch.Tensor]:
    mels, labels, specs, has_spec = zip(*items)
    return {"mel": torch.stack(mels), "speaker": torch.stack(labels), "spec": torch.stack(specs),
            "has_spec": torch.stack(has_spec)}
