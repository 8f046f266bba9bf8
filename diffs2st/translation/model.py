"""Speech translation: a Conformer encoder shared by a source decoder (transcript) and a target decoder
(translation), the target decoder attending to the encoder and — in the multi-decoder variant — to the source
decoder's states through its own multi-head attention (DESIGN §1–§2).

Variants (``variant``):
- ``single``: one target decoder on the encoder (direct ST); the transcript comes from the CTC head.
- ``two-decoders``: source and target decoders side by side on the shared encoder.
- ``multi-decoder``: the target decoder also attends to the source decoder's states (teacher-forced in training,
  from the decoded transcript at inference).

Training door: ``loss(batch)``. Inference door: `SpeechTranslator.translate` -> `TranslationResult` per utterance,
with the target decoder's tokens and hidden states public (the S2ST acoustic synthesizer reads them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..audio import MelConfig, log_mel, pad_mels, split_on_silence
from ..audio.normalization import MelNormalizer
from ..errors import ConfigError
from ..registry import MODELS
from .conformer import ConformerConfig, ConformerEncoder
from .decoder import IncrementalDecoder, TransformerDecoder, speculative_greedy
from .search import loop_rule, remove_repeats, search_without_repeats
from .tokenizer import BOS, EOS, PAD, CharTokenizer

VARIANTS = ("single", "two-decoders", "multi-decoder")


def decoder_input_of(ids: torch.Tensor) -> torch.Tensor:
    """Training ids (batch, len) bos…eos -> what the decoder reads to predict ids[:, 1:]: bos + tokens (eos dropped,
    so a decoder never reads it, as at inference)."""
    return ids[:, :-1].masked_fill(ids[:, :-1] == EOS, PAD)


@dataclass(frozen=True)
class SpecAugmentConfig:
    """Masks on the normalised log-mel in training (Park et al. 2019): frequency masks of up to ``freq_width``
    bins, time masks of up to ``time_fraction`` of the utterance each."""

    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 2
    time_fraction: float = 0.05


@dataclass(frozen=True)
class SpeechTranslatorConfig:
    mel: MelConfig = field(default_factory=MelConfig)
    variant: Literal["single", "two-decoders", "multi-decoder"] = "multi-decoder"
    encoder: ConformerConfig = field(default_factory=ConformerConfig)
    decoder_layers: int = 3
    # the target decoder's own depth (None: decoder_layers); a shallower one is distilled from a trained
    # translator (translation/distill.py) to make the direct S2ST path cheaper per token
    target_decoder_layers: Optional[int] = None
    decoder_heads: int = 4
    decoder_ff_mult: int = 4
    decoder_dropout: float = 0.1
    ctc_weight: float = 0.3
    # CTC over characters needs more output steps than the 4x-subsampled encoder has (French speech runs at
    # ~14 characters/s, the encoder at 15.6 frames/s): the CTC head emits this many predictions per frame.
    ctc_upsample: int = 2
    source_weight: float = 1.0
    label_smoothing: float = 0.1
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    src_symbols: tuple[str, ...] = ()
    tgt_symbols: tuple[str, ...] = ()
    mel_mean: tuple[float, ...] = ()
    mel_std: tuple[float, ...] = ()
    max_text_length: int = 200

    def __post_init__(self) -> None:
        if self.ctc_upsample < 1:
            raise ConfigError("ctc_upsample must be at least 1")
        if not 0.0 <= self.ctc_weight <= 1.0:
            raise ConfigError("ctc_weight must be in [0, 1]")
        if self.target_decoder_layers is not None and self.target_decoder_layers < 1:
            raise ConfigError("target_decoder_layers must be at least 1 (or null: as many as decoder_layers)")
        if self.variant == "single" and self.ctc_weight == 0.0:
            raise ConfigError("the single-decoder variant reads the transcript from CTC: ctc_weight must be > 0")


@dataclass
class TranslationResult:
    """One utterance's outputs. ``tgt_states`` (tokens + 1, d_model): the target decoder's hidden states for
    bos + the target tokens (what the acoustic synthesizer reads); timings in seconds. ``speculation``: with a draft
    decoder (`SpeechTranslator.translate`), how many tokens it proposed and the target decoder accepted, in how many
    rounds; empty without one."""

    src_text: str
    tgt_text: str
    tgt_tokens: list[int]
    tgt_states: torch.Tensor
    timings: dict[str, float]
    speculation: dict[str, int] = field(default_factory=dict)


@MODELS.register("speech-translator")
class SpeechTranslator(nn.Module):
    config_class = SpeechTranslatorConfig

    def __init__(self, config: SpeechTranslatorConfig) -> None:
        super().__init__()
        self.config = config
        self.src_tokenizer = CharTokenizer(config.src_symbols)
        self.tgt_tokenizer = CharTokenizer(config.tgt_symbols)
        self.normalizer = MelNormalizer(config.mel.n_mels, config.mel_mean, config.mel_std)
        d = config.encoder.d_model
        self.encoder = ConformerEncoder(config.mel.n_mels, config.encoder)
        self.ctc = nn.Linear(d, config.ctc_upsample * self.src_tokenizer.vocab_size)  # blank = PAD id
        decoder = dict(d_model=d, layers=config.decoder_layers, heads=config.decoder_heads,
                       ff_mult=config.decoder_ff_mult, dropout=config.decoder_dropout)
        self.source_decoder = (None if config.variant == "single"
                               else TransformerDecoder(self.src_tokenizer.vocab_size, **decoder))
        target_layers = config.target_decoder_layers or config.decoder_layers
        self.target_decoder = TransformerDecoder(self.tgt_tokenizer.vocab_size, **{**decoder, "layers": target_layers},
                                                 memories=2 if config.variant == "multi-decoder" else 1)

    # ----------------------------------------------------------------------------------------------- training
    def encode(self, mel: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel (batch, n_mels, frames) (not normalised) -> encoder states and mask (batch, frames')."""
        return self.encoder(self.normalizer.normalize(mel), lengths)

    def _spec_augment(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        spec = self.config.specaugment
        x = x.clone()
        batch, bins, _ = x.shape
        for row in range(batch):
            for _ in range(spec.freq_masks):
                width = int(torch.randint(0, spec.freq_width + 1, ()))
                start = int(torch.randint(0, max(1, bins - width), ()))
                x[row, start:start + width] = 0.0
            for _ in range(spec.time_masks):
                width = int(torch.randint(0, int(spec.time_fraction * int(lengths[row])) + 1, ()))
                start = int(torch.randint(0, max(1, int(lengths[row]) - width), ()))
                x[row, :, start:start + width] = 0.0
        return x

    def _target_memories(self, encoded, enc_mask, src_states, src_tokens):
        memories = [(encoded, enc_mask)]
        if self.config.variant == "multi-decoder":
            memories.append((src_states, src_tokens != PAD))
        return memories

    def loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """``batch``: mel (batch, n_mels, frames) log-mel, lengths (batch,), src/tgt (batch, len) bos…eos ids."""
        x = self._spec_augment(self.normalizer.normalize(batch["mel"]), batch["lengths"])
        encoded, enc_mask = self.encoder(x, batch["lengths"])
        src, tgt = batch["src"], batch["tgt"]
        src_in, tgt_in = decoder_input_of(src), decoder_input_of(tgt)
        smoothing = self.config.label_smoothing
        out = {}
        # CTC on the source characters (no bos/eos); blank is the pad id.
        ctc_logits, ctc_lengths = self._ctc_logits(encoded, enc_mask)
        src_body = src[:, 1:].masked_fill(src[:, 1:] == EOS, PAD)
        src_lengths = (src_body != PAD).sum(1)
        out["ctc"] = F.ctc_loss(ctc_logits.log_softmax(-1).transpose(0, 1), src_body, ctc_lengths, src_lengths,
                                blank=PAD, zero_infinity=True)
        out["ctc_infeasible"] = (ctc_lengths < src_lengths).float().mean()  # zeroed by zero_infinity: watch it
        src_states = None
        total = self.config.ctc_weight * out["ctc"]
        if self.source_decoder is not None:
            logits, src_states = self.source_decoder(src_in, [(encoded, enc_mask)])
            out["source"] = F.cross_entropy(logits.transpose(1, 2), src[:, 1:], ignore_index=PAD,
                                            label_smoothing=smoothing)
            total = total + self.config.source_weight * out["source"]
        logits, _ = self.target_decoder(tgt_in, self._target_memories(encoded, enc_mask, src_states, src_in))
        out["target"] = F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=PAD, label_smoothing=smoothing)
        out["loss"] = total + out["target"]
        return out

    # ---------------------------------------------------------------------------------------------- inference
    def features(self, waves: Sequence[np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mono waves at the MelConfig rate -> padded log-mel (batch, n_mels, frames) and lengths (batch,)."""
        mels = [log_mel(torch.as_tensor(np.asarray(w, dtype=np.float32)), self.config.mel) for w in waves]
        return pad_mels(mels, self.config.mel)

    def _ctc_logits(self, encoded: torch.Tensor, enc_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> CTC logits (batch, frames' * ctc_upsample, vocab) and their lengths (batch,)."""
        b, t, _ = encoded.shape
        logits = self.ctc(encoded).reshape(b, t * self.config.ctc_upsample, self.src_tokenizer.vocab_size)
        return logits, enc_mask.sum(1) * self.config.ctc_upsample

    def _ctc_greedy(self, encoded: torch.Tensor, enc_mask: torch.Tensor) -> list[list[int]]:
        logits, lengths = self._ctc_logits(encoded, enc_mask)
        best = logits.argmax(-1)
        out = []
        for row, length in zip(best.tolist(), lengths.tolist()):
            collapsed = [t for i, t in enumerate(row[:length]) if t != PAD and (i == 0 or t != row[i - 1])]
            out.append(collapsed)
        return out

    @staticmethod
    def _decoder_input(sequences: list[list[int]], device) -> torch.Tensor:
        """Token lists -> (batch, max_len + 1) bos + tokens, padded: what a decoder reads to predict them."""
        out = torch.full((len(sequences), max(map(len, sequences)) + 1), PAD, dtype=torch.long, device=device)
        for row, ids in enumerate(sequences):
            out[row, : len(ids) + 1] = torch.tensor([BOS, *ids])
        return out

    @staticmethod
    def _final_states(decoder: TransformerDecoder, scorer: IncrementalDecoder | None, ids: list[list[int]],
                      tokens: torch.Tensor, memories: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """The decoder's final states of bos + ``ids``: kept by a greedy search (``scorer``), else one full pass
        over ``tokens``."""
        states = None if scorer is None else scorer.states_of(ids)
        return decoder.states(tokens, memories) if states is None else states

    def _search(self, decoder: TransformerDecoder, tokenizer: CharTokenizer, memories_for, batch: int, beam: int,
                length_penalty: float, device,
                block_repeats: bool) -> tuple[list[list[int]], IncrementalDecoder | None]:
        """Token ids per batch item from ``decoder`` reading ``memories_for(rows)``, with word loops removed
        (`search.search_without_repeats`) when ``block_repeats``; and the scorer whose cached states match them
        (None when a loop was removed)."""
        scorer = IncrementalDecoder(decoder, memories_for)
        ids, repaired = search_without_repeats(scorer, batch, self.config.max_text_length, beam, length_penalty,
                                               device, *loop_rule(tokenizer, block_repeats))
        return ids, (None if repaired else scorer)

    def _speculate(self, draft: TransformerDecoder, draft_tokens: int, memories_for, device, block_repeats: bool
                   ) -> tuple[list[int], IncrementalDecoder | None, dict[str, int]]:
        """`_search` of the target decoder for one utterance by `decoder.speculative_greedy` with ``draft``
        proposing: the target decoder's greedy tokens (word loops removed like `_search` when ``block_repeats``),
        the scorer whose cached states match them (None when a loop was removed), and the proposal counts."""
        rows = torch.zeros(1, dtype=torch.long, device=device)
        scorer, drafter = IncrementalDecoder(self.target_decoder, memories_for), IncrementalDecoder(draft, memories_for)
        scorer.start(rows)
        drafter.start(rows)
        found = speculative_greedy(scorer, drafter, self.config.max_text_length, draft_tokens)
        ids = found.tokens
        if block_repeats:
            ids = remove_repeats(ids, *loop_rule(self.tgt_tokenizer))
        counts = {"proposed": found.proposed, "accepted": found.accepted, "rounds": found.rounds}
        return ids, (scorer if ids == found.tokens else None), counts

    def _check_draft(self, draft: TransformerDecoder, draft_tokens: int, beam: int) -> None:
        """A clear error, before any work, for a draft that cannot stand in for the target decoder."""
        target = self.target_decoder
        if beam > 1:
            raise ConfigError(f"a draft decoder speeds up greedy search only: beam must be 1 with a draft (got {beam})")
        if draft_tokens < 1:
            raise ConfigError(f"draft_tokens must be at least 1 (got {draft_tokens})")
        if (draft.project.out_features, draft.d_model, len(draft.layers[0].cross)) != (
                target.project.out_features, target.d_model, len(target.layers[0].cross)):
            raise ConfigError("the draft decoder must read the same memories and write the same vocabulary as the "
                              f"target decoder: vocab {draft.project.out_features} vs {target.project.out_features}, "
                              f"d_model {draft.d_model} vs {target.d_model}, memories {len(draft.layers[0].cross)} vs "
                              f"{len(target.layers[0].cross)}")

    def _decode_source(self, encoded: torch.Tensor, enc_mask: torch.Tensor, beam: int, length_penalty: float,
                       with_states: bool = True, block_repeats: bool = True):
        """Source ids per utterance (source decoder, or CTC for the single-decoder variant), and for the
        multi-decoder (unless ``with_states`` is False) the source decoder's states and input that the target
        decoder attends to."""
        src_states = src_input = None
        if self.source_decoder is None:
            return self._ctc_greedy(encoded, enc_mask), src_states, src_input

        src_ids, source_scorer = self._search(self.source_decoder, self.src_tokenizer,
                                              lambda rows: [(encoded[rows], enc_mask[rows])], encoded.shape[0], beam,
                                              length_penalty, encoded.device, block_repeats)
        if self.config.variant == "multi-decoder" and with_states:
            src_input = self._decoder_input(src_ids, encoded.device)
            src_states = self._final_states(self.source_decoder, source_scorer, src_ids, src_input,
                                            [(encoded, enc_mask)])
        return src_ids, src_states, src_input

    @torch.inference_mode()
    def transcribe(self, waves: Sequence[np.ndarray | torch.Tensor], beam: int = 1,
                   length_penalty: float = 1.0, block_repeats: bool = True) -> list[str]:
        """Source transcripts only (encoder + source decoding): the first stage of the cascade baseline."""
        mel, lengths = self.features(waves)
        encoded, enc_mask = self.encode(mel, lengths)
        src_ids, _, _ = self._decode_source(encoded, enc_mask, beam, length_penalty, with_states=False,
                                            block_repeats=block_repeats)
        return [self.src_tokenizer.decode(ids) for ids in src_ids]

    @torch.inference_mode()
    def translate(self, waves: Sequence[np.ndarray | torch.Tensor], beam: int = 1,
                  length_penalty: float = 1.0, block_repeats: bool = True, draft: TransformerDecoder | None = None,
                  draft_tokens: int = 8) -> list[TranslationResult]:
        """Waves (mono, MelConfig rate) -> one `TranslationResult` each. ``beam`` 1 is greedy search;
        ``block_repeats`` repairs word loops in both decoders (`search.search_without_repeats`).

        ``draft``: a cheaper target decoder over the same memories (e.g. a distilled one's ``target_decoder``,
        trained on this model's encoder and source decoder) for lossless speculative greedy decoding
        (`decoder.speculative_greedy`, up to ``draft_tokens`` proposals per pass of the target decoder): the
        tokens and ``tgt_states`` are this model's greedy ones. It speeds up a single utterance only: a batch of
        several falls back to plain greedy search of the target decoder (same output). Needs ``beam`` 1."""
        if draft is not None:
            self._check_draft(draft, draft_tokens, beam)
        timings = {}
        start = time.perf_counter()
        mel, lengths = self.features(waves)
        encoded, enc_mask = self.encode(mel, lengths)
        timings["encoder"] = time.perf_counter() - start
        batch, device = len(waves), encoded.device

        start = time.perf_counter()
        src_ids, src_states, src_input = self._decode_source(encoded, enc_mask, beam, length_penalty,
                                                             block_repeats=block_repeats)
        timings["source_decoder"] = time.perf_counter() - start

        start = time.perf_counter()

        def memories_for(rows):
            memories = [(encoded[rows], enc_mask[rows])]
            if src_states is not None:
                memories.append((src_states[rows], src_input[rows] != PAD))
            return memories

        speculation = {}
        if draft is not None and batch == 1:
            ids, target_scorer, speculation = self._speculate(draft, draft_tokens, memories_for, device, block_repeats)
            tgt_ids = [ids]
        else:
            tgt_ids, target_scorer = self._search(self.target_decoder, self.tgt_tokenizer, memories_for, batch, beam,
                                                  length_penalty, device, block_repeats)
        states = self._final_states(self.target_decoder, target_scorer, tgt_ids, self._decoder_input(tgt_ids, device),
                                    memories_for(torch.arange(batch, device=device)))
        timings["target_decoder"] = time.perf_counter() - start
        share = {k: v / batch for k, v in timings.items()}
        return [TranslationResult(self.src_tokenizer.decode(s), self.tgt_tokenizer.decode(t), t,
                                  states[i, : len(t) + 1].clone(), dict(share), dict(speculation))
                for i, (s, t) in enumerate(zip(src_ids, tgt_ids))]

    @torch.inference_mode()
    def teacher_forced_states(self, waves: Sequence[np.ndarray | torch.Tensor], src_texts: Sequence[str],
                              tgt_texts: Sequence[str]) -> list[torch.Tensor]:
        """The target decoder's states (len(tgt tokens) + 1, d_model) when it reads the REFERENCE texts (the source
        decoder reads the reference transcript): what the acoustic synthesizer trains on, aligned like
        `TranslationResult.tgt_states` (bos + tokens)."""
        mel, lengths = self.features(waves)
        encoded, enc_mask = self.encode(mel, lengths)
        src = [self.src_tokenizer.encode(t) for t in src_texts]
        tgt = [self.tgt_tokenizer.encode(t) for t in tgt_texts]
        memories = self.teacher_forced_memories(encoded, enc_mask, self._decoder_input(src, encoded.device))
        states = self.target_decoder.states(self._decoder_input(tgt, encoded.device), memories)
        return [states[i, : len(t) + 1].clone() for i, t in enumerate(tgt)]

    def teacher_forced_memories(self, encoded: torch.Tensor, enc_mask: torch.Tensor, src_input: torch.Tensor
                                ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """What the target decoder attends to when the source decoder reads the reference transcript ``src_input``
        (bos + tokens): the encoder, and for the multi-decoder the source decoder's states (run only then)."""
        src_states = (self.source_decoder.states(src_input, [(encoded, enc_mask)])
                      if self.config.variant == "multi-decoder" else None)
        return self._target_memories(encoded, enc_mask, src_states, src_input)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def translate_long(model: SpeechTranslator, wave: np.ndarray, max_segment_seconds: float = 12.0, beam: int = 1,
                   length_penalty: float = 1.0) -> TranslationResult:
    """Translate audio of any length: cut at silences into segments of at most ``max_segment_seconds``
    (`split_on_silence` tiles the whole input, nothing is dropped), translate them as one batch, join the texts.
    The joined ``tgt_states`` hold each segment's states in order."""
    rate = model.config.mel.sample_rate
    segments = split_on_silence(wave, rate, max_seconds=max_segment_seconds)
    results = model.translate([wave[s.start:s.end] for s in segments], beam=beam, length_penalty=length_penalty)
    if len(results) == 1:
        return results[0]
    timings = {key: sum(r.timings[key] for r in results) for key in results[0].timings}
    return TranslationResult(" ".join(r.src_text for r in results), " ".join(r.tgt_text for r in results),
                             [t for r in results for t in r.tgt_tokens], torch.cat([r.tgt_states for r in results]),
                             timings)


def translate_waves(model: SpeechTranslator, waves: Sequence[np.ndarray], batch_size: int = 16, beam: int = 1,
                    max_segment_seconds: float = 12.0, progress: bool = False) -> list[TranslationResult]:
    """Translate many utterances in batches of similar length (less padding); inputs longer than
    ``max_segment_seconds`` go through `translate_long`. Results come back in input order."""
    rate = model.config.mel.sample_rate
    long = [i for i, w in enumerate(waves) if len(w) > max_segment_seconds * rate]
    short = sorted(set(range(len(waves))) - set(long), key=lambda i: len(waves[i]))
    results: list[TranslationResult | None] = [None] * len(waves)
    with tqdm(total=len(waves), desc="translating", disable=not progress) as bar:
        for start in range(0, len(short), batch_size):
            chunk = short[start:start + batch_size]
            for index, result in zip(chunk, model.translate([waves[i] for i in chunk], beam=beam)):
                results[index] = result
            bar.update(len(chunk))
        for index in long:
            results[index] = translate_long(model, waves[index], max_segment_seconds, beam)
            bar.update(1)
    return results
