"""Bilingual French→English sentence pairs for the synthetic S2ST corpus.

    pairs = generate_pairs(1000, seed=0)   # distinct, deterministic; pairs[0].fr, .en, .phenomena
"""

from __future__ import annotations

import random

from ...errors import DataError
from .grammar import Grammar, SentencePair

__all__ = ["Grammar", "SentencePair", "generate_pairs"]


def generate_pairs(n: int, seed: int = 0, grammar: Grammar | None = None) -> list[SentencePair]:
    """``n`` pairs, distinct in French and in English, deterministic from ``seed``."""
    if n < 0:
        raise DataError(f"cannot generate {n} sentences")
    grammar = grammar or Grammar()
    rng = random.Random(seed)
    pairs, seen_fr, seen_en = [], set(), set()
    attempts = 0
    while len(pairs) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise DataError(f"the grammar produced only {len(pairs)} distinct sentences of the {n} asked for")
        pair = grammar.sample(rng)
        if pair.fr in seen_fr or pair.en in seen_en:
            continue
        seen_fr.add(pair.fr)
        seen_en.add(pair.en)
        pairs.append(pair)
    return pairs
