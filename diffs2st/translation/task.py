"""Training task "speech-translation":

    diffs2st train configs/st-multidecoder.yaml --out runs/st
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from ..data.augment import AugmentConfig
from ..training.tasks import TASKS
from .data import SourceMels, TranslationCollate
from .model import SpeechTranslator, SpeechTranslatorConfig
from .tokenizer import build_symbols


@dataclass(frozen=True)
class TranslationDataConfig:
    train_manifest: str = "corpora/synth-cvss/train.jsonl"
    limit: Optional[int] = None
    progress: bool = True
    augment: Optional[AugmentConfig] = None  # waveform augmentation of the source (data.augment)
    augmented_copies: int = 0  # augmented views of every utterance besides the clean one (translation.data)
    augment_seed: int = 0
    family_weights: Optional[dict[str, int]] = None  # repeat a voice family's utterances (data.manifest.weighted_order)


@TASKS.register("speech-translation")
class SpeechTranslationTask:
    model_config = SpeechTranslatorConfig
    data_config = TranslationDataConfig

    def build(self, model: SpeechTranslatorConfig, data: TranslationDataConfig):
        """Load the source log-mels, fill in what the config leaves empty (symbol tables from the training
        texts, per-bin statistics), build the model (seeded by the run config) and the collate function."""
        dataset = SourceMels(data.train_manifest, model.mel, data.limit, data.progress, data.augment,
                             data.augmented_copies, data.augment_seed, data.family_weights)
        updates = {}
        if not model.src_symbols:
            updates["src_symbols"] = build_symbols(r.src_text for r in dataset.records)
        if not model.tgt_symbols:
            updates["tgt_symbols"] = build_symbols(r.tgt_text for r in dataset.records)
        if not model.mel_mean:
            updates["mel_mean"], updates["mel_std"] = dataset.statistics()
        config = dataclasses.replace(model, **updates)
        translator = SpeechTranslator(config)
        return translator, dataset, TranslationCollate(config.mel, translator.src_tokenizer, translator.tgt_tokenizer)
