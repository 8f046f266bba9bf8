"""Training task "digits": `diffs2st train configs/digits-ddpm.yaml --out runs/digits`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..training.tasks import TASKS
from .data import DigitMels, NormalizedDigitMels
from .model import DigitDiffusion, DigitDiffusionConfig


@dataclass(frozen=True)
class DigitDataConfig:
    train_manifest: str = "corpora/synth-digits/train.jsonl"
    progress: bool = True


@TASKS.register("digits")
class DigitTask:
    model_config = DigitDiffusionConfig
    data_config = DigitDataConfig

    def build(self, model: DigitDiffusionConfig, data: DigitDataConfig):
        clips = DigitMels(data.train_manifest, model.mel, model.frames, progress=data.progress)
        mean, std = (model.mel_mean, model.mel_std) if model.mel_mean else clips.statistics()
        config = dataclasses.replace(model, mel_mean=tuple(mean), mel_std=tuple(std))
        return DigitDiffusion(config), NormalizedDigitMels(clips, list(mean), list(std)), None
