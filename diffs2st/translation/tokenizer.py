"""Character tokenizers, one per language, whose symbol table lives in the model config (so a checkpoint carries it).

Characters rather than subwords: the text is reproduced exactly (apostrophes, accents, French spacing before
``?``), no extra dependency, and on synth-cvss the vocabulary is small (≈ 60 symbols per language).
"""

from __future__ import annotations

from functools import cached_property
from typing import Iterable, Sequence

import torch

from ..errors import DataError

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")


def build_symbols(texts: Iterable[str]) -> tuple[str, ...]:
    """The sorted characters of ``texts`` (the specials are implicit and come first in the id space)."""
    symbols = sorted({ch for text in texts for ch in text})
    if not symbols:
        raise DataError("cannot build a tokenizer from empty texts")
    return tuple(symbols)


class CharTokenizer:
    """text <-> ids; ids 0-3 are pad, bos, eos, unk; character ``symbols[i]`` is id ``i + 4``."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = tuple(symbols)
        self.index = {s: i + len(SPECIALS) for i, s in enumerate(self.symbols)}

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.symbols)

    @cached_property
    def word_breaks(self) -> frozenset[int]:
        """Ids of the characters that end a word: whitespace and punctuation other than apostrophes and hyphens
        (which stay inside words: "aujourd'hui", "après-midi")."""
        return frozenset(self.index[s] for s in self.symbols
                         if s.isspace() or (not s.isalnum() and s not in "'’-"))

    def word_ids(self, words: Iterable[str]) -> frozenset[tuple[int, ...]]:
        """The token ids of each of ``words`` (as `search.find_repeat`'s ``allowed`` takes them)."""
        return frozenset(tuple(self.encode(w)) for w in words)

    def encode(self, text: str) -> list[int]:
        """Character ids without bos/eos; unknown characters become ``UNK``."""
        return [self.index.get(ch, UNK) for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text, stopping at the first eos and skipping pad/bos/unk."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.symbols[i - len(SPECIALS)])
        return "".join(out)

    def batch(self, texts: Sequence[str]) -> torch.Tensor:
        """(batch, max_len + 2) ids with bos … eos and pad (the decoder's teacher-forcing sequences)."""
        encoded = [[BOS, *self.encode(t), EOS] for t in texts]
        out = torch.full((len(encoded), max(map(len, encoded))), PAD, dtype=torch.long)
        for row, ids in enumerate(encoded):
            out[row, : len(ids)] = torch.tensor(ids)
        return out
