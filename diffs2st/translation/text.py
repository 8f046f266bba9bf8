"""Text machine translation fr -> en for the cascade baseline (source ASR -> text MT -> TTS, DESIGN §2): a small
character transformer encoder-decoder trained on the same text pairs as the speech models, decoding with the same
search and the same decoder blocks as the speech translator.

    diffs2st train configs/text-mt.yaml --out runs/text-mt
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.manifest import S2STRecord, read_manifest
from ..errors import ConfigError, DataError
from ..registry import MODELS
from ..training.tasks import TASKS
from .conformer import sinusoid_table
from .decoder import IncrementalDecoder, TransformerDecoder
from .search import loop_rule, search_without_repeats
from .tokenizer import EOS, PAD, CharTokenizer, build_symbols


@dataclass(frozen=True)
class TextTranslatorConfig:
    d_model: int = 192
    encoder_layers: int = 3
    decoder_layers: int = 3
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    label_smoothing: float = 0.1
    max_text_length: int = 200
    src_symbols: tuple[str, ...] = ()
    tgt_symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.d_model % self.heads or min(self.encoder_layers, self.decoder_layers) < 1:
            raise ConfigError("text translator: d_model must divide by heads and both stacks need >= 1 layer")


@MODELS.register("text-translator")
class TextTranslator(nn.Module):
    config_class = TextTranslatorConfig

    def __init__(self, config: TextTranslatorConfig) -> None:
        super().__init__()
        self.config = config
        self.src_tokenizer, self.tgt_tokenizer = CharTokenizer(config.src_symbols), CharTokenizer(config.tgt_symbols)
        d = config.d_model
        self.embedding = nn.Embedding(self.src_tokenizer.vocab_size, d, padding_idx=PAD)
        layer = nn.TransformerEncoderLayer(d, config.heads, config.ff_mult * d, config.dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.encoder_layers, enable_nested_tensor=False)
        self.encoder_norm = nn.LayerNorm(d)
        self.decoder = TransformerDecoder(self.tgt_tokenizer.vocab_size, d, config.decoder_layers, config.heads,
                                          config.ff_mult, config.dropout)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Source ids (batch, length) with bos/eos -> states (batch, length, d) and key mask (True = real)."""
        mask = src != PAD
        x = self.embedding(src) + sinusoid_table(torch.arange(src.shape[1], device=src.device), self.config.d_model)
        return self.encoder_norm(self.encoder(x, src_key_padding_mask=~mask)), mask

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        memory, mask = self.encode(batch["src"])
        tgt = batch["tgt"]
        tgt_in = tgt[:, :-1].masked_fill(tgt[:, :-1] == EOS, PAD)
        logits, _ = self.decoder(tgt_in, [(memory, mask)])
        loss = F.cross_entropy(logits.transpose(1, 2), tgt[:, 1:], ignore_index=PAD,
                               label_smoothing=self.config.label_smoothing)
        return {"loss": loss}

    @torch.inference_mode()
    def translate(self, texts: Sequence[str], beam: int = 1, block_repeats: bool = True) -> list[str]:
        """French sentences -> English sentences (greedy for ``beam`` 1; word loops removed when
        ``block_repeats``, `search.search_without_repeats`)."""
        if not texts:
            return []
        src = self.src_tokenizer.batch(texts).to(self.embedding.weight.device)
        memory, mask = self.encode(src)

        scorer = IncrementalDecoder(self.decoder, lambda rows: [(memory[rows], mask[rows])])
        ids, _ = search_without_repeats(scorer, len(texts), self.config.max_text_length, beam, 1.0, memory.device,
                                        *loop_rule(self.tgt_tokenizer, block_repeats))
        return [self.tgt_tokenizer.decode(row) for row in ids]


class TextPairs(torch.utils.data.Dataset):
    def __init__(self, manifest: str, limit: int | None = None) -> None:
        self.records = read_manifest(manifest, S2STRecord)[:limit]
        if not self.records:
            raise DataError(f"{manifest} holds no records")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[str, str]:
        return self.records[index].src_text, self.records[index].tgt_text


class TextPairCollate:
    def __init__(self, model: TextTranslator) -> None:
        self.src_tokenizer, self.tgt_tokenizer = model.src_tokenizer, model.tgt_tokenizer

    def __call__(self, items: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
        return {"src": self.src_tokenizer.batch([s for s, _ in items]),
                "tgt": self.tgt_tokenizer.batch([t for _, t in items])}


@dataclass(frozen=True)
class TextDataConfig:
    train_manifest: str = "corpora/synth-cvss/train.jsonl"
    limit: Optional[int] = None


@TASKS.register("text-translation")
class TextTranslationTask:
    model_config = TextTranslatorConfig
    data_config = TextDataConfig

    def build(self, model: TextTranslatorConfig, data: TextDataConfig):
        pairs = TextPairs(data.train_manifest, data.limit)
        updates = {}
        if not model.src_symbols:
            updates["src_symbols"] = build_symbols(r.src_text for r in pairs.records)
        if not model.tgt_symbols:
            updates["tgt_symbols"] = build_symbols(r.tgt_text for r in pairs.records)
        translator = TextTranslator(dataclasses.replace(model, **updates))
        return translator, pairs, TextPairCollate(translator)

