"""Training tasks "digits" (the generator) and "digit-classifier" (noise-aware; guidance and FID-style features).

    diffs2st train configs/digits-ddpm.yaml --out runs/digits
    diffs2st train configs/digits-classifier.yaml --out runs/digit-classifier
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..audio.normalization import MelNormalizer
from ..training.tasks import TASKS
from .classifier import DigitClassifier, DigitClassifierConfig
from .data import DigitMels, NormalizedDigitMels
from .model import DigitDiffusion, DigitDiffusionConfig


@dataclass(frozen=True)
class DigitDataConfig:
    train_manifest: str = "corpora/synth-digits/train.jsonl"
    progress: bool = True


def _build(model_class, model, data: DigitDataConfig):
    """Load the clips, fill in the normalisation statistics (unless given), build the model and its dataset."""
    clips = DigitMels(data.train_manifest, model.mel, model.frames, progress=data.progress)
    mean, std = (model.mel_mean, model.mel_std) if model.mel_mean else clips.statistics()
    config = dataclasses.replace(model, mel_mean=tuple(mean), mel_std=tuple(std))
    normalizer = MelNormalizer(config.mel.n_mels, config.mel_mean, config.mel_std)
    return model_class(config), NormalizedDigitMels(clips, normalizer), None


@TASKS.register("digits")
class DigitTask:
    model_config = DigitDiffusionConfig
    data_config = DigitDataConfig

    def build(self, model: DigitDiffusionConfig, data: DigitDataConfig):
        return _build(DigitDiffusion, model, data)


@TASKS.register("digit-classifier")
class DigitClassifierTask:
    model_config = DigitClassifierConfig
    data_config = DigitDataConfig

    def build(self, model: DigitClassifierConfig, data: DigitDataConfig):
        return _build(DigitClassifier, model, data)
