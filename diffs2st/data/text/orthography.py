"""Spelling rules shared by both languages: French elision and contraction, English a/an, sentence punctuation.

French elision (le/la/de/ne/que/je + vowel → l'/d'/n'/qu'/j') and the masculine forms used before a vowel
(bel, mon école) apply before a vowel or a mute h; the words that block them (aspirated h: "le haricot", "le
hibou"; numbers: "le onze", "de huit") are data, listed in lexicon/no_elision.tsv.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

LEXICON_DIR = Path(__file__).parent / "lexicon"
VOWELS = "aeiouyhàâäéèêëîïôöûüœ"
ELIDING_WORDS = ("je", "ne", "que", "le", "la", "de")
# the lookahead keeps the next word unconsumed, so "de le hôpital" can elide "le" after skipping "de"
ELISION = re.compile(rf"\b({'|'.join(ELIDING_WORDS)}) (?=(\w+))", flags=re.IGNORECASE)
# applied after elision, so "à l'hôpital" and "de l'école" are left alone while "à le parc" becomes "au parc"
CONTRACTIONS = ((re.compile(r"\bà le "), "au "), (re.compile(r"\bà les "), "aux "), (re.compile(r"\bde le "), "du "),
                (re.compile(r"\bde les "), "des "))


@lru_cache(maxsize=1)
def no_elision_words() -> frozenset[str]:
    """Vowel- or h-initial words before which French does not elide (read once, at first use)."""
    lines = (LEXICON_DIR / "no_elision.tsv").read_text(encoding="utf-8").splitlines()
    return frozenset(line.split("\t")[0].strip().lower() for line in lines if line.strip() and not
                     line.startswith("#"))


def starts_with_vowel(word: str) -> bool:
    """True when ``word`` takes the elided/before-vowel forms (l', bel, mon): a vowel or mute h, not 'haricot'."""
    lower = word.lower()
    if not lower or lower[0] not in VOWELS:
        return False
    blocked = no_elision_words()
    return lower not in blocked and lower.rstrip("sx") not in blocked


def english_article(next_word: str) -> str:
    """'a' or 'an' by the sound of the next word (spelling rule with the 'uni-'/'eu-' exceptions)."""
    lower = next_word.lower()
    return "an" if lower[0] in "aeio" or (lower[0] == "u" and not lower.startswith(("uni", "eu"))) else "a"


def _elide(match: re.Match) -> str:
    word = match.group(1)
    return word[:-1] + "'" if starts_with_vowel(match.group(2)) else match.group(0)


def french_text(tokens: list[str]) -> str:
    """Join French tokens with elisions (je ai → j'ai, à le hôpital → à l'hôpital) then contractions
    (à le → au, de les → des)."""
    text = ELISION.sub(_elide, " ".join(t for t in tokens if t))
    for pattern, contracted in CONTRACTIONS:
        text = pattern.sub(contracted, text)
    return text


def sentence(text: str, question: bool = False, french: bool = False) -> str:
    """Capitalised, single-spaced, with a final '.' or '?' (French puts a space before '?')."""
    text = " ".join(text.split())
    text = text[0].upper() + text[1:]
    return text + ((" ?" if french else "?") if question else ".")
