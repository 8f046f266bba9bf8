"""Training task "acoustic-synthesizer" (the direct S2ST synthesizer, or with data.mode=text the cascade's TTS):

    diffs2st train configs/s2st-synthesizer.yaml --out runs/s2st-synthesizer

The speech translator and the speaker encoder named in the data section are frozen: the synthesizer trains on the
translator's teacher-forced target states (training in stages, DESIGN §2).
"""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError
from ..training.tasks import TASKS
from .data import SynthesisDataConfig, SynthesisExamples, collate_synthesis, load_frozen_parts
from .synthesizer import AcousticSynthesizer, SynthesizerConfig


@TASKS.register("acoustic-synthesizer")
class AcousticSynthesizerTask:
    model_config = SynthesizerConfig
    data_config = SynthesisDataConfig

    def build(self, model: SynthesizerConfig, data: SynthesisDataConfig):
        """Precompute (or read the cached) features, then fill in what the frozen components decide: the target
        symbols and state width (translator), the speaker width (encoder), the target-mel statistics."""
        if model.pitch and not data.pitch:
            raise ConfigError("model.pitch predicts F0 and learns it from the targets' F0: set data.pitch: true")
        translator, encoder = load_frozen_parts(data)
        examples = SynthesisExamples(data, translator, encoder)
        speaker_dim = encoder.config.embedding_dim
        updates = {"symbols": translator.config.tgt_symbols, "speaker_dim": speaker_dim,
                   "state_dim": translator.config.encoder.d_model if data.mode == "direct" else 0,
                   "decoder": dataclasses.replace(model.decoder, global_dim=speaker_dim)}
        if not model.mel_mean:
            updates["mel_mean"], updates["mel_std"] = examples.statistics()
        config = dataclasses.replace(model, **updates)
        return AcousticSynthesizer(config), examples, collate_synthesis
