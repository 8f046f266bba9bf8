"""Text judges: sacrebleu BLEU/chrF and jiwer WER/CER, after one documented normalisation.

Normalisation (applied to hypotheses and references alike, as ASR-BLEU is usually computed): Unicode NFKC,
lower-case, every character that is not a letter, digit, apostrophe or space becomes a space (so "maison." and
"est-ce" split like speech does), apostrophes at word edges are dropped, whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

_NOT_WORD = re.compile(r"[^\w' ]+|_")
_EDGE_APOSTROPHE = re.compile(r"(^|\s)'+|'+(\s|$)")


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _NOT_WORD.sub(" ", text)
    text = _EDGE_APOSTROPHE.sub(" ", text)
    return " ".join(text.split())


def text_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus-level BLEU and chrF (sacrebleu, 0-100) and WER/CER (jiwer, fractions) on normalised text."""
    import jiwer
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    hyps = [normalize_text(h) for h in hypotheses]
    refs = [normalize_text(r) for r in references]
    scored = [(h, r) for h, r in zip(hyps, refs) if r]  # jiwer refuses empty references
    return {
        "bleu": float(sacrebleu.corpus_bleu(hyps, [refs]).score),
        "chrf": float(sacrebleu.corpus_chrf(hyps, [refs]).score),
        "wer": float(jiwer.wer([r for _, r in scored], [h for h, _ in scored])) if scored else float("nan"),
        "cer": float(jiwer.cer([r for _, r in scored], [h for h, _ in scored])) if scored else float("nan"),
    }


def utterance_wer(hypothesis: str, reference: str) -> float:
    import jiwer

    reference = normalize_text(reference)
    return float(jiwer.wer(reference, normalize_text(hypothesis))) if reference else float("nan")
