"""Text judges: sacrebleu BLEU/chrF and jiwer WER/CER, after one normalisation from a kept library.

Normalisation (applied to hypotheses and references alike, as ASR-BLEU is usually computed) is Whisper's, from the
`whisper-normalizer` package, the normaliser the open ASR leaderboards score with:
- English: `EnglishTextNormalizer` — lower-case, punctuation removed, numbers to digits ("ninety" and "90" agree),
  contractions expanded ("she's" -> "she is"), British spellings to American ("travelled" -> "traveled"),
  titles spelled out ("Mr." -> "mister"). A recogniser's written form and our grammar's spoken form then compare
  as words, not as spellings.
- any other language (French sources): `BasicTextNormalizer` — lower-case, punctuation and symbols to spaces
  (elided "l'été" becomes "l été", as Whisper scores French), bracketed asides dropped.
Whitespace is collapsed in both.
"""

from __future__ import annotations

import functools
from typing import Sequence


@functools.lru_cache(maxsize=None)
def _normalizer(language: str):
    if language == "en":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize_text(text: str, language: str = "en") -> str:
    """``text`` as the judges compare it (see the module docstring); ``language`` is an ISO code ('en', 'fr')."""
    return " ".join(_normalizer(language)(text.replace("’", "'")).split())


def text_scores(hypotheses: Sequence[str], references: Sequence[str], language: str = "en") -> dict[str, float]:
    """Corpus-level BLEU and chrF (sacrebleu, 0-100) and WER/CER (jiwer, fractions) on normalised text."""
    import jiwer
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    hyps = [normalize_text(h, language) for h in hypotheses]
    refs = [normalize_text(r, language) for r in references]
    scored = [(h, r) for h, r in zip(hyps, refs) if r]  # jiwer refuses empty references
    return {
        "bleu": float(sacrebleu.corpus_bleu(hyps, [refs]).score),
        "chrf": float(sacrebleu.corpus_chrf(hyps, [refs]).score),
        "wer": float(jiwer.wer([r for _, r in scored], [h for h, _ in scored])) if scored else float("nan"),
        "cer": float(jiwer.cer([r for _, r in scored], [h for h, _ in scored])) if scored else float("nan"),
    }


def utterance_wer(hypothesis: str, reference: str, language: str = "en") -> float:
    import jiwer

    reference = normalize_text(reference, language)
    return float(jiwer.wer(reference, normalize_text(hypothesis, language))) if reference else float("nan")
