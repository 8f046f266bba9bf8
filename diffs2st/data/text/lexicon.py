"""The vocabulary, read from the TSV files in lexicon/ (nothing lexical is written in Python beyond function words)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...errors import DataError

LEXICON_DIR = Path(__file__).parent / "lexicon"
CONCRETE = ("food", "drink", "readable", "object", "clothes", "vehicle", "building", "room", "outdoor", "animal",
            "person_m", "person_f")


@dataclass(frozen=True)
class Noun:
    fr: str
    gender: str  # "m" | "f"
    fr_plural: str
    en: str
    en_plural: str
    cls: str


@dataclass(frozen=True)
class Adjective:
    forms: tuple[str, str, str, str]  # masc, fem, masc plural, fem plural
    en: str
    position: str  # "pre" (before the noun in French) | "post"
    before_vowel: str  # masculine singular before a vowel (bel, vieil, nouvel)
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Verb:
    infinitive: str
    present: tuple[str, ...]  # je, tu, il/elle, nous, vous, ils/elles
    participle: str
    auxiliary: str  # "avoir" | "être"
    complement: str  # "obj" | "none" | "to" | "at" | "from" | "in" | "into"
    classes: tuple[str, ...]  # noun classes the complement takes
    en: tuple[str, str, str, str]  # base, 3rd singular, past, participle


@dataclass(frozen=True)
class Place:
    fr: str
    en: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class TimePhrase:
    fr: str
    en: str
    tenses: tuple[str, ...]


def _rows(name: str, columns: int) -> list[list[str]]:
    path = LEXICON_DIR / name
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != columns:
            raise DataError(f"{path}:{number}: expected {columns} tab-separated columns, got {len(cells)}")
        rows.append([c.strip() for c in cells])
    return rows


def _regular_er(infinitive: str) -> tuple[str, ...]:
    """Present tense of a regular -er verb (manger -> mangeons, commencer -> commençons)."""
    stem = infinitive[:-2]
    nous_stem = stem + "e" if stem.endswith("g") else stem[:-1] + "ç" if stem.endswith("c") else stem
    return (stem + "e", stem + "es", stem + "e", nous_stem + "ons", stem + "ez", stem + "ent")


@dataclass(frozen=True)
class Lexicon:
    nouns: tuple[Noun, ...]
    adjectives: tuple[Adjective, ...]
    verbs: tuple[Verb, ...]
    places: tuple[Place, ...]
    times: tuple[TimePhrase, ...]
    animal_verbs: frozenset[str] = frozenset()  # infinitives an animal subject can take (dormir, nager, ...)

    def size(self) -> int:
        """Number of distinct lemmas (nouns, adjectives, verbs, prepositions, time phrases)."""
        return len({n.fr for n in self.nouns}) + len(self.adjectives) + len(self.verbs) + len(self.places) + len(
            self.times)

    def nouns_of(self, classes) -> list[Noun]:
        return [n for n in self.nouns if n.cls in classes]


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    nouns = tuple(Noun(*row) for row in _rows("nouns.tsv", 6))
    classes = {row[0]: tuple(CONCRETE if row[1] == "*" else row[1].split(",")) for row in
               _rows("adjective_classes.tsv", 2)}
    adjectives = []
    for masc, fem, masc_pl, fem_pl, en, position, vowel in _rows("adjectives.tsv", 7):
        if en not in classes:
            raise DataError(f"adjective {en!r} has no row in adjective_classes.tsv")
        adjectives.append(Adjective((masc, fem, masc_pl, fem_pl), en, position, vowel, classes[en]))
    verbs = []
    for infinitive, present, participle, auxiliary, complement, english in _rows("verbs.tsv", 6):
        forms = _regular_er(infinitive) if present == "auto" else tuple(present.split(","))
        kind, _, cls = complement.partition(":")
        verbs.append(Verb(infinitive, forms, infinitive[:-2] + "é" if participle == "auto" else participle,
                          auxiliary, kind, tuple(cls.split(",")) if cls else (), tuple(english.split("|"))))
    places = tuple(Place(fr, en, tuple(c.split(","))) for fr, en, c in _rows("places.tsv", 3))
    times = tuple(TimePhrase(fr, en, tuple(t.split(","))) for fr, en, t in _rows("time_phrases.tsv", 3))
    animal_verbs = frozenset(row[0] for row in _rows("animal_verbs.tsv", 1))
    for verb in verbs:
        if len(verb.present) != 6 or len(verb.en) != 4:
            raise DataError(f"verb {verb.infinitive!r} needs 6 French present forms and 4 English forms")
    unknown = animal_verbs - {v.infinitive for v in verbs}
    if unknown:
        raise DataError(f"animal_verbs.tsv names verbs missing from verbs.tsv: {', '.join(sorted(unknown))}")
    return Lexicon(nouns, tuple(adjectives), tuple(verbs), places, times, animal_verbs)
