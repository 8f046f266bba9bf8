"""Training task "speaker-encoder":

    diffs2st train configs/speaker-encoder.yaml --out runs/speaker-encoder
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import torch

from ..training.tasks import TASKS
from .data import SpeakerClips, collate_speaker_clips
from .encoder import SpeakerEncoder, SpeakerEncoderConfig


@dataclass(frozen=True)
class SpeakerDataConfig:
    train_manifest: str = "corpora/synth-cvss/train.jsonl"
    segment_frames: int = 128
    segments_per_clip: int = 4
    seed: int = 0
    limit: Optional[int] = None
    progress: bool = True


@TASKS.register("speaker-encoder")
class SpeakerEncoderTask:
    model_config = SpeakerEncoderConfig
    data_config = SpeakerDataConfig

    def build(self, model: SpeakerEncoderConfig, data: SpeakerDataConfig):
        """Load the clips, fill in the training speakers and per-bin statistics, build the encoder (seeded)."""
        clips = SpeakerClips(data.train_manifest, model.mel, data.segment_frames, data.segments_per_clip,
                             model.speakers, data.seed, data.limit, data.progress)
        updates = {"speakers": clips.speakers}
        if not model.mel_mean:
            updates["mel_mean"], updates["mel_std"] = clips.statistics()
        config = dataclasses.replace(model, **updates)
        torch.manual_seed(data.seed)
        return SpeakerEncoder(config), clips, collate_speaker_clips
