"""Training task "st-target-distillation": a shallower target decoder learned from a trained speech translator.

    diffs2st train configs/st-target-distill.yaml --out runs/st-distill

The student is the teacher with ``target_decoder_layers`` target layers. Its encoder, CTC head and source decoder are
the teacher's, copied and frozen, so transcripts (and the cascade's ASR, which reads the same checkpoint) do not move.
Its target decoder starts from the teacher's embedding, output projection and first layers, and learns on
teacher-forced reference texts from three signals: the reference next token (cross-entropy, the teacher's label
smoothing), the teacher's next-token distribution (KL) and the teacher's final hidden states (MSE). The last one is
what lets the direct S2ST synthesizer, trained on the teacher's states, read the student's without retraining.
Why: the target decoder runs once per output character, so its depth sets most of the direct path's translation
cost (docs/benchmarks/s2st/s2st.md, head to head).

Everything frozen sees the same input at every step (no SpecAugment, dropout off), so with ``cache_teacher`` (the
default) the encoder states, the source decoder's states and the teacher's logits and states are computed once per
training utterance before training (`TeacherOutputs`, in memory) and each step runs the student's target decoder
alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset
from tqdm import tqdm

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
    cache_teacher: bool = True

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

    @torch.no_grad()
    def teacher_outputs(self, batch: dict) -> dict[str, torch.Tensor]:
        """What the frozen modules give for ``batch`` (as `SpeechTranslator.loss` reads it; no SpecAugment: the
        teacher is matched on clean input): encoder states + mask, source decoder states + input, and the teacher
        target decoder's logits and final states."""
        student = self.student
        encoded, enc_mask = student.encode(batch["mel"], batch["lengths"])
        src_in = decoder_input_of(batch["src"])
        out = {"encoded": encoded, "enc_mask": enc_mask, "src_in": src_in}
        if student.config.variant == "multi-decoder":
            out["src_states"] = student.source_decoder.states(src_in, [(encoded, enc_mask)])
        memories = student._target_memories(encoded, enc_mask, out.get("src_states"), src_in)
        out["teacher_logits"], out["teacher_states"] = self.teacher_target(decoder_input_of(batch["tgt"]), memories)
        return out

    def loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``batch``: what `TranslationCollate` gives (the teacher runs here), or `TeacherOutputs` items collated
        (the teacher ran once, before training)."""
        student = self.student
        tgt = batch["tgt"]
        tgt_in = decoder_input_of(tgt)
        frozen = batch if "teacher_logits" in batch else self.teacher_outputs(batch)
        teacher_logits, teacher_states = frozen["teacher_logits"], frozen["teacher_states"]
        memories = student._target_memories(frozen["encoded"], frozen["enc_mask"], frozen.get("src_states"),
                                            frozen["src_in"])
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
        wrapper = TargetDecoderDistillation(model, teacher)
        student = wrapper.student
        dataset = SourceMels(data.train_manifest, teacher.config.mel, data.limit, data.progress)
        collate = TranslationCollate(teacher.config.mel, student.src_tokenizer, student.tgt_tokenizer)
        if model.cache_teacher:
            cached = TeacherOutputs(wrapper, dataset, collate, data.progress)
            return wrapper, cached, cached.collate
        return wrapper, dataset, collate


class TeacherOutputs(Dataset):
    """`TargetDecoderDistillation.teacher_outputs` of every utterance of ``dataset`` (computed once, in batches of
    similar length, kept in memory without padding); ``collate`` pads a list of them into a `loss` batch."""

    PER_FRAME = ("encoded", "enc_mask")
    PER_SOURCE_TOKEN = ("src_in", "src_states")
    PER_TARGET_TOKEN = ("teacher_logits", "teacher_states")

    def __init__(self, wrapper: TargetDecoderDistillation, dataset: SourceMels, collate: TranslationCollate,
                 progress: bool = True, batch_size: int = 32) -> None:
        self.tgt_tokenizer = collate.tgt_tokenizer
        self.items: list[dict[str, torch.Tensor] | None] = [None] * len(dataset)
        order = sorted(range(len(dataset)), key=lambda i: dataset[i][0].shape[-1])
        wrapper.eval()
        try:
            for start in tqdm(range(0, len(order), batch_size), desc="teacher outputs", disable=not progress,
                              leave=False):
                chunk = order[start:start + batch_size]
                batch = collate([dataset[i] for i in chunk])
                out = wrapper.teacher_outputs(batch)
                frames = out["enc_mask"].sum(1).tolist()
                sources = (out["src_in"] != PAD).sum(1).tolist()
                targets = (decoder_input_of(batch["tgt"]) != PAD).sum(1).tolist()
                for row, index in enumerate(chunk):
                    lengths = dict.fromkeys(self.PER_FRAME, frames[row]) | dict.fromkeys(
                        self.PER_SOURCE_TOKEN, sources[row]) | dict.fromkeys(self.PER_TARGET_TOKEN, targets[row])
                    self.items[index] = {name: value[row, :lengths[name]].clone() for name, value in out.items()}
                    self.items[index]["tgt_text"] = dataset[index][2]
        finally:
            wrapper.train()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]

    def collate(self, items: list[dict]) -> dict[str, torch.Tensor]:
        batch = {name: pad_sequence([item[name] for item in items], batch_first=True,
                                    padding_value=False if name == "enc_mask" else PAD if name == "src_in" else 0.0)
                 for name in items[0] if name != "tgt_text"}
        batch["tgt"] = self.tgt_tokenizer.batch([item["tgt_text"] for item in items])
        return batch
