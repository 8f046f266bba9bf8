"""Training task "st-target-distillation": a shallower target decoder learned from a trained speech translator.

    diffs2st train configs/st-target-distill.yaml --out runs/st-distill

The student is the teacher with ``target_decoder_layers`` target layers. Its encoder, CTC head and source decoder are
the teacher's, copied and frozen, so transcripts (and the cascade's ASR, which reads the same checkpoint) do not move.
Its target decoder starts from the teacher's embedding, output projection and first layers, and learns on
teacher-forced reference texts from three signals: the reference next token (cross-entropy, the teacher's label
smoothing), the teacher's next-token distribution (KL) and the teacher's final hidden states (MSE). The last one is
what lets the direct S2ST synthesizer, trained on the teacher's states, read the student's without retraining.
Why: the target decoder runs once per output character, so its depth sets most of the direct path's translation
cost (docs/benchmarks/s2st.md, head to head).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import load_model, part_state_dict
from ..errors import CheckpointError, ConfigError
from ..training.tasks import TASKS
from .data import SourceMels, TranslationCollate
from .model import SpeechTranslator, decoder_input_of
from .task import TranslationDataConfig
from .tokenizer import PAD


@dataclass(frozen=True)
class TargetDistillationConfig:
    teacher: str = "pretrained/st"
    target_decoder_layers: int = 1
    distribution_weight: float = 1.0
    state_weight: float = 1.0

    def __post_init__(self) -> None:  # the depth is checked by SpeechTranslatorConfig and against the teacher
        if min(self.distribution_weight, self.state_weight) < 0:
            raise ConfigError("distillation weights must be >= 0")


class TargetDecoderDistillation(nn.Module):
    """Student speech translator + the teacher's (frozen) target decoder; ``loss(batch)`` trains the student's
    target decoder only; ``export`` ships the student."""

    def __init__(self, config: TargetDistillationConfig, teacher: SpeechTranslator) -> None:
        super().__init__()
        teacher_layers = len(teacher.target_decoder.layers)
        if config.target_decoder_layers > teacher_layers:
            raise ConfigError(f"the student's target decoder ({config.target_decoder_layers} layers) must not be "
                              f"deeper than the teacher's ({teacher_layers})")
        self.config = config
        self.student = SpeechTranslator(dataclasses.replace(teacher.config,
                                                            target_decoder_layers=config.target_decoder_layers))
        # every student tensor has a teacher tensor of the same name (target layers 0..n-1 are the teacher's first)
        self.student.load_state_dict({name: value for name, value in teacher.state_dict().items()
                                      if name in self.student.state_dict()})
        self.teacher_target = teacher.target_decoder
        self.frozen = [self.student.encoder, self.student.ctc, self.teacher_target]
        if self.student.source_decoder is not None:
            self.frozen.append(self.student.source_decoder)
        for module in self.frozen:
            module.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> TargetDecoderDistillation:
        super().train(mode)
        for module in self.frozen:  # no dropout in what only feeds the student
            module.eval()
        return self

    def loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``batch`` as `SpeechTranslator.loss` reads it (no SpecAugment: the teacher is matched on clean input)."""
        student = self.student
        tgt = batch["tgt"]
        tgt_in = decoder_input_of(tgt)
        with torch.no_grad():
            encoded, enc_mask = student.encode(batch["mel"], batch["lengths"])
            memories = student.teacher_forced_memories(encoded, enc_mask, decoder_input_of(batch["src"]))
            teacher_logits, teacher_states = self.teacher_target(tgt_in, memories)
        logits, states = student.target_decoder(tgt_in, memories)
        real = tgt_in != PAD  # bos + tokens: the positions that predict tokens + eos
        divergence = F.kl_div(logits.log_softmax(-1), teacher_logits.log_softmax(-1), reduction="none",
                              log_target=True).sum(-1)[real].mean()
        state_error = (states - teacher_states).pow(2).mean(-1)[real].mean()
        cross_entropy = F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=PAD,
                                        label_smoothing=student.config.label_smoothing)
        loss = (cross_entropy + self.config.distribution_weight * divergence
                + self.config.state_weight * state_error)
        return {"loss": loss, "target": cross_entropy.detach(), "divergence": divergence.detach(),
                "state_mse": state_error.detach()}

    def export(self, state_dict: dict[str, torch.Tensor]) -> tuple[nn.Module, dict[str, torch.Tensor]]:
        """The shipped model is the student alone (with these, e.g. EMA, weights)."""
        return self.student, part_state_dict(state_dict, "student")


@TASKS.register("st-target-distillation")
class TargetDistillationTask:
    model_config = TargetDistillationConfig
    data_config = TranslationDataConfig

    def build(self, model: TargetDistillationConfig, data: TranslationDataConfig):
        teacher = load_model(model.teacher, SpeechTranslator, "speech translator")
        if not teacher.config.mel_mean:
            raise CheckpointError(f"{model.teacher} has no log-mel statistics: it is not a trained translator")
        torch.manual_seed(0)
        wrapper = TargetDecoderDistillation(model, teacher)
        student = wrapper.student
        dataset = SourceMels(data.train_manifest, teacher.config.mel, data.limit, data.progress)
        return wrapper, dataset, TranslationCollate(teacher.config.mel, student.src_tokenizer, student.tgt_tokenizer)
