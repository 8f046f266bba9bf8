"""A bilingual French→English sentence grammar with real translation phenomena.

Realisation functions build both languages from explicit choices (so tests can pin hand-checked translations);
`Grammar.sample` makes those choices at random from the lexicon. English conventions: the passé composé is rendered by
the simple past ("j'ai mangé" → "I ate", "je n'ai pas mangé" → "I did not eat") except "ne … jamais", rendered
by the present perfect ("je n'ai jamais mangé" → "I have never eaten"); "ne … plus" → "no longer"; clock times as
"at half past seven"; numbers in words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .lexicon import Adjective, Lexicon, Noun, Verb, load_lexicon
from .numbers import MINUTE_WAYS, clock_time, english_number, french_number
from .orthography import english_article, french_text, sentence, starts_with_vowel

PRONOUNS_FR = ("je", "tu", "il", "elle", "nous", "vous", "ils", "elles")
PRONOUNS_EN = ("I", "you", "he", "she", "we", "you", "they", "they")
PRONOUN_PERSON = (0, 1, 2, 2, 3, 4, 5, 5)  # conjugation slot of each pronoun
PRONOUN_GENDER = ("?", "?", "m", "f", "?", "?", "m", "f")
AVOIR = ("ai", "as", "a", "avons", "avez", "ont")
ETRE = ("suis", "es", "est", "sommes", "êtes", "sont")
ALLER = ("vais", "vas", "va", "allons", "allez", "vont")
EN_BE = ("am", "are", "is", "are", "are", "are")
POSSESSIVES = {  # possessor -> (masc sg, fem sg, plural, english)
    "je": ("mon", "ma", "mes", "my"), "tu": ("ton", "ta", "tes", "your"), "il": ("son", "sa", "ses", "his"),
    "elle": ("son", "sa", "ses", "her"), "it": ("son", "sa", "ses", "its"), "nous": ("notre", "notre", "nos", "our"),
    "vous": ("votre", "votre", "vos", "your"), "ils": ("leur", "leur", "leurs", "their"),
}
EN_PREPOSITIONS = {"to": ("à", "to"), "at": ("à", "at"), "from": ("de", "from"), "in": ("dans", "in"),
                   "into": ("dans", "into")}
TENSES = ("present", "passe_compose", "futur_proche")
NEGATIONS = {"pas": "not", "jamais": "never", "plus": "no longer"}
WORD_RANGE = (4, 14)  # words per sentence, both languages


def word_count(text: str) -> int:
    """Words in a sentence, not counting the French free-standing '?' ("j'ai" counts as one)."""
    return sum(1 for token in text.split() if token not in "?.")


@dataclass(frozen=True)
class Phrase:
    fr: str
    en: str
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subject:
    fr: str
    en: str
    person: int  # conjugation slot 0-5
    gender: str  # "m" | "f"
    possessor: str  # key of POSSESSIVES for "his/her/its/their own" objects
    pronoun: bool
    animal: bool = False  # animals only take the verbs listed in lexicon/animal_verbs.tsv

    @property
    def plural(self) -> bool:
        return self.person >= 3

    @property
    def third_singular(self) -> bool:
        return self.person == 2


def pronoun_subject(index: int, gender: str = "m") -> Subject:
    """Subject pronoun by index into PRONOUNS_FR; ``gender`` settles agreement for je/tu/nous/vous."""
    fr = PRONOUNS_FR[index]
    own_gender = PRONOUN_GENDER[index] if PRONOUN_GENDER[index] != "?" else gender
    possessor = {"elles": "ils"}.get(fr, fr)
    return Subject(fr, PRONOUNS_EN[index], PRONOUN_PERSON[index], own_gender, possessor, True)


def noun_phrase(noun: Noun, plural: bool = False, determiner: str = "def", adjectives: tuple[Adjective, ...] = (),
                possessor: str | None = None, count: int | None = None) -> Phrase:
    """A determiner + adjectives + noun in both languages.

    determiner: "def" (le/la/les, the), "indef" (un/une/des, a/an/-), "poss" (mon/ma/... of ``possessor``) or
    "num" (``count`` in words; 1 is un/une). French adjectives agree and sit before or after the noun by their
    lexicon position; English puts them all before the noun, pre-nominal ones first.
    """
    if count is not None:
        plural = count != 1
    index = (0 if noun.gender == "m" else 1) + (2 if plural else 0)
    french_noun = noun.fr_plural if plural else noun.fr
    pre = [a for a in adjectives if a.position == "pre"]
    post = [a for a in adjectives if a.position == "post"]
    pre_fr = []
    for adjective in pre:
        form = adjective.forms[index]
        if index == 0 and starts_with_vowel(french_noun):
            form = adjective.before_vowel
        pre_fr.append(form)
    first = pre_fr[0] if pre_fr else french_noun
    if determiner == "def":
        det_fr = "les" if plural else ("le" if noun.gender == "m" else "la")
    elif determiner == "indef":
        det_fr = ("de" if pre else "des") if plural else ("un" if noun.gender == "m" else "une")
    elif determiner == "poss":
        masc, fem, many, _ = POSSESSIVES[possessor]
        det_fr = many if plural else (masc if noun.gender == "m" or starts_with_vowel(first) else fem)
    elif determiner == "num":
        det_fr = french_number(count, feminine=noun.gender == "f")
    else:
        raise ValueError(f"unknown determiner {determiner!r}")
    fr = french_text([det_fr] + pre_fr + [french_noun] + [a.forms[index] for a in post])
    english_words = [a.en for a in pre] + [a.en for a in post] + [noun.en_plural if plural else noun.en]
    if determiner == "def":
        det_en = "the"
    elif determiner == "indef":
        det_en = "" if plural else english_article(english_words[0])
    elif determiner == "poss":
        det_en = POSSESSIVES[possessor][3]
    else:
        det_en = english_number(count)
    tags = set()
    if adjectives:
        tags |= {"adjective_placement", "agreement"} if index else {"adjective_placement"}
    if plural:
        tags.add("agreement")
    if determiner == "poss":
        tags.add("possessive")
    if determiner == "num" and count and count > 1:
        tags.add("number")
    return Phrase(fr, " ".join(w for w in [det_en] + english_words if w), frozenset(tags))


def noun_subject(noun: Noun, plural: bool, determiner: str = "def", adjectives: tuple[Adjective, ...] = (),
                 possessor: str | None = None) -> Subject:
    phrase = noun_phrase(noun, plural, determiner, adjectives, possessor)
    own = "ils" if plural else {"person_m": "il", "person_f": "elle"}.get(noun.cls, "it")
    return Subject(phrase.fr, phrase.en, 5 if plural else 2, noun.gender, own, False, noun.cls == "animal")


def participle(verb: Verb, subject: Subject) -> str:
    """Past participle, agreeing with the subject when the auxiliary is être."""
    form = verb.participle
    if verb.auxiliary == "être":
        form += "e" if subject.gender == "f" else ""
        form += "" if not subject.plural or form.endswith("s") else "s"
    return form


def _english_finite(verb: Verb, subject: Subject, tense: str, negation: str | None) -> str:
    base, third, past, past_participle = verb.en
    if tense == "present":
        if negation == "pas":
            return ("does not " if subject.third_singular else "do not ") + base
        own = third if subject.third_singular else base
        return f"{NEGATIONS[negation]} {own}" if negation else own
    if tense == "passe_compose":
        if negation == "pas":
            return "did not " + base
        if negation == "jamais":
            return ("has never " if subject.third_singular else "have never ") + past_participle
        return past
    be = EN_BE[subject.person] if subject.pronoun or subject.plural else "is"
    return f"{be} {'not ' if negation else ''}going to {base}"


def clause(subject: Subject, verb: Verb, tense: str, complement: Phrase | None = None,
           negation: str | None = None) -> Phrase:
    """A declarative clause (no final punctuation) in one of `TENSES`, optionally negated (pas, jamais, plus)."""
    neg = [("ne", negation)] if negation else []
    person = subject.person
    if tense == "present":
        groups = [verb.present[person]]
    elif tense == "passe_compose":
        groups = [(AVOIR if verb.auxiliary == "avoir" else ETRE)[person], participle(verb, subject)]
    elif tense == "futur_proche":
        groups = [ALLER[person], verb.infinitive]
    else:
        raise ValueError(f"unknown tense {tense!r}")
    finite, rest = groups[0], groups[1:]
    tokens = [subject.fr] + ([neg[0][0], finite, neg[0][1]] if neg else [finite]) + rest
    fr = french_text(tokens + ([complement.fr] if complement else []))
    en = " ".join([subject.en, _english_finite(verb, subject, tense, negation)] + ([complement.en] if complement
                                                                                     else []))
    tags = {tense} | ({"negation"} if negation else set()) | ({"pronoun"} if subject.pronoun else set())
    if verb.auxiliary == "être" and tense == "passe_compose" and (subject.gender == "f" or subject.plural):
        tags.add("agreement")
    return Phrase(fr, en, frozenset(tags) | (complement.tags if complement else frozenset()))


def _english_question_start(subject: Subject, tense: str) -> str:
    if tense == "present":
        return ("does " if subject.third_singular else "do ") + subject.en
    if tense == "passe_compose":
        return "did " + subject.en
    be = EN_BE[subject.person] if subject.pronoun or subject.plural else "is"
    return f"{be} {subject.en} going to"


def _french_predicate(subject: Subject, verb: Verb, tense: str) -> list[str]:
    if tense == "present":
        return [verb.present[subject.person]]
    if tense == "passe_compose":
        return [(AVOIR if verb.auxiliary == "avoir" else ETRE)[subject.person], participle(verb, subject)]
    return [ALLER[subject.person], verb.infinitive]


def yes_no_question(subject: Subject, verb: Verb, tense: str, complement: Phrase | None) -> Phrase:
    """'Est-ce que tu manges la pomme ?' / 'Do you eat the apple?'"""
    statement = clause(subject, verb, tense, complement)
    fr = french_text(["est-ce que", statement.fr])
    en = " ".join([_english_question_start(subject, tense), verb.en[0]] + ([complement.en] if complement else []))
    return Phrase(fr, en, statement.tags | {"question_yes_no"})


def wh_question(word: str, subject: Subject | None, verb: Verb, tense: str, complement: Phrase | None) -> Phrase:
    """quand/pourquoi (+ est-ce que + clause), qui (as subject), quoi (qu'est-ce que, object questioned)."""
    if word in ("quand", "pourquoi"):
        statement = clause(subject, verb, tense, complement)
        fr = french_text([word, "est-ce que", statement.fr])
        en = " ".join([{"quand": "when", "pourquoi": "why"}[word], _english_question_start(subject, tense),
                       verb.en[0]] + ([complement.en] if complement else []))
        return Phrase(fr, en, statement.tags | {"question_wh"})
    if word == "qui":
        who = Subject("qui", "who", 2, "m", "il", False)
        statement = clause(who, verb, tense, complement)
        return Phrase(statement.fr, statement.en, (statement.tags - {"pronoun"}) | {"question_wh"})
    if word == "quoi":
        fr = french_text(["qu'est-ce que", subject.fr] + _french_predicate(subject, verb, tense))
        en = " ".join(["what", _english_question_start(subject, tense), verb.en[0]])
        return Phrase(fr, en, frozenset({tense, "question_wh"} | ({"pronoun"} if subject.pronoun else set())))
    raise ValueError(f"unknown question word {word!r}")


def how_many_question(noun: Noun, subject: Subject, verb: Verb, tense: str) -> Phrase:
    """'Combien de pommes est-ce que tu manges ?' / 'How many apples do you eat?'

    In the passé composé the participle agrees with the questioned object, which precedes it
    ('Combien de pommes est-ce que tu as mangées ?')."""
    predicate = _french_predicate(subject, verb, tense)
    if tense == "passe_compose" and verb.auxiliary == "avoir":
        form = predicate[1] + ("e" if noun.gender == "f" else "")
        predicate[1] = form if form.endswith("s") else form + "s"
    fr = french_text(["combien", "de", noun.fr_plural, "est-ce que", subject.fr] + predicate)
    en = " ".join(["how many", noun.en_plural, _english_question_start(subject, tense), verb.en[0]])
    return Phrase(fr, en, frozenset({tense, "question_wh"} | ({"pronoun"} if subject.pronoun else set())))


def where_question(thing: Phrase, plural: bool) -> Phrase:
    """'Où est la gare ?' / 'Where is the station?'"""
    return Phrase(french_text(["où", "sont" if plural else "est", thing.fr]),
                  f"where {'are' if plural else 'is'} {thing.en}", thing.tags | {"question_wh"})


def place_phrase(preposition_fr: str, preposition_en: str, place: Phrase) -> Phrase:
    """'près de la gare' / 'near the station' (contractions du/des/au/aux applied)."""
    return Phrase(french_text([preposition_fr, place.fr]), f"{preposition_en} {place.en}",
                  place.tags | {"preposition_place"})


def location(thing: Phrase, plural: bool, where: Phrase) -> Phrase:
    """'Les petites maisons blanches sont près de la gare' / 'The small white houses are near the station'."""
    return Phrase(french_text([thing.fr, "sont" if plural else "est", where.fr]),
                  f"{thing.en} {'are' if plural else 'is'} {where.en}", thing.tags | where.tags)


def there_are(things: Phrase, count: int, where: Phrase) -> Phrase:
    """'Il y a vingt et une pommes sur la table' / 'There are twenty one apples on the table'."""
    return Phrase(french_text(["il y a", things.fr, where.fr]),
                  f"there {'is' if count == 1 else 'are'} {things.en} {where.en}", things.tags | where.tags)


def with_time(phrase: Phrase, time: Phrase) -> Phrase:
    return Phrase(f"{phrase.fr} {time.fr}", f"{phrase.en} {time.en}", phrase.tags | time.tags)


@dataclass(frozen=True)
class SentencePair:
    fr: str
    en: str
    phenomena: tuple[str, ...]


def finish(phrase: Phrase, question: bool = False) -> SentencePair:
    return SentencePair(sentence(phrase.fr, question, french=True), sentence(phrase.en, question),
                        tuple(sorted(phrase.tags)))


class Grammar:
    """Samples sentence pairs: ``Grammar().sample(random.Random(0)) -> SentencePair``."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.people = self.lexicon.nouns_of(("person_m", "person_f"))
        self.animals = self.lexicon.nouns_of(("animal",))

    def lexicon_size(self) -> int:
        return self.lexicon.size()

    # --- random choices ---------------------------------------------------------------------------------------
    def _adjectives(self, rng: random.Random, noun: Noun) -> tuple[Adjective, ...]:
        fitting = [a for a in self.lexicon.adjectives if noun.cls in a.classes]
        pre = [a for a in fitting if a.position == "pre"]
        post = [a for a in fitting if a.position == "post"]
        chosen = []
        if pre and rng.random() < 0.35:
            chosen.append(rng.choice(pre))
        if post and rng.random() < 0.45:
            chosen.append(rng.choice(post))
        return tuple(chosen)

    def _subject(self, rng: random.Random, animals: bool = False) -> Subject:
        roll = rng.random()
        if roll < 0.55:
            return pronoun_subject(rng.randrange(len(PRONOUNS_FR)), rng.choice("mf"))
        pool = self.people + (self.animals if animals else [])
        noun = rng.choice(pool)
        determiner = rng.choice(("def", "def", "poss"))
        possessor = rng.choice(("je", "tu", "nous", "vous")) if determiner == "poss" else None
        return noun_subject(noun, rng.random() < 0.35, determiner, self._adjectives(rng, noun) if rng.random() < 0.5
                            else (), possessor)

    def _object(self, rng: random.Random, classes, subject: Subject, negated: bool) -> Phrase:
        noun = rng.choice(self.lexicon.nouns_of(classes))
        # after a negation French needs "de" instead of un/des: keep to definite and possessive objects there
        determiners = ("def", "poss") if negated else ("def", "def", "indef", "poss", "num")
        determiner = rng.choice(determiners)
        count = rng.randint(2, 100) if determiner == "num" else None
        return noun_phrase(noun, rng.random() < 0.4, determiner, self._adjectives(rng, noun),
                           subject.possessor if determiner == "poss" else None, count)

    def _complement(self, rng: random.Random, verb: Verb, subject: Subject, negated: bool) -> Phrase | None:
        if verb.complement == "obj":
            return self._object(rng, verb.classes, subject, negated)
        if verb.complement == "none":
            return None
        preposition_fr, preposition_en = EN_PREPOSITIONS[verb.complement]
        noun = rng.choice(self.lexicon.nouns_of(verb.classes))
        determiner = rng.choice(("def", "def", "poss"))
        place = noun_phrase(noun, False, determiner, (), subject.possessor if determiner == "poss" else None)
        return Phrase(french_text([preposition_fr, place.fr]), f"{preposition_en} {place.en}", place.tags)

    def _time(self, rng: random.Random, tense: str) -> Phrase | None:
        roll = rng.random()
        if roll < 0.15:
            minutes = rng.choice(sorted(MINUTE_WAYS))
            fr, en = clock_time(rng.randint(1, 12), minutes)
            return Phrase(fr, en, frozenset({"time"}))
        if roll < 0.4:
            key = {"present": "present", "passe_compose": "past", "futur_proche": "future"}[tense]
            options = [t for t in self.lexicon.times if key in t.tenses]
            if options:
                choice = rng.choice(options)
                return Phrase(choice.fr, choice.en, frozenset({"preposition_time"}))
        return None

    def _place(self, rng: random.Random, thing_class: str | None = None) -> Phrase:
        place = rng.choice(self.lexicon.places)
        noun = rng.choice([n for n in self.lexicon.nouns_of(place.classes) if n.cls != thing_class] or
                          self.lexicon.nouns_of(place.classes))
        return place_phrase(place.fr, place.en, noun_phrase(noun, False, "def", self._adjectives(rng, noun)))

    def _verb_for(self, rng: random.Random, subject: Subject) -> Verb:
        verbs = [v for v in self.lexicon.verbs if not subject.animal or v.infinitive in self.lexicon.animal_verbs]
        return rng.choice(verbs)

    # --- sentence kinds ---------------------------------------------------------------------------------------
    def _statement(self, rng: random.Random) -> SentencePair:
        subject = self._subject(rng, animals=True)
        verb = self._verb_for(rng, subject)
        tense = rng.choice(TENSES)
        negation = None
        if rng.random() < 0.35:
            negation = rng.choice({"present": ("pas", "jamais", "plus"), "passe_compose": ("pas", "jamais"),
                                   "futur_proche": ("pas",)}[tense])
        phrase = clause(subject, verb, tense, self._complement(rng, verb, subject, negation is not None), negation)
        time = self._time(rng, tense) if negation != "jamais" else None
        return finish(with_time(phrase, time) if time else phrase)

    def _question(self, rng: random.Random) -> SentencePair:
        subject = self._subject(rng)
        tense = rng.choice(TENSES)
        kind = rng.choice(("yes_no", "yes_no", "quand", "pourquoi", "qui", "quoi", "combien", "ou"))
        transitive = [v for v in self.lexicon.verbs if v.complement == "obj"]
        if kind == "ou":
            noun = rng.choice(self.lexicon.nouns_of(("building", "object", "animal", "vehicle", "person_m",
                                                     "person_f")))
            plural = rng.random() < 0.3
            determiner = rng.choice(("def", "poss"))
            possessor = rng.choice(("je", "tu", "nous", "vous")) if determiner == "poss" else None
            return finish(where_question(noun_phrase(noun, plural, determiner, self._adjectives(rng, noun),
                                                     possessor), plural), question=True)
        if kind in ("quoi", "combien"):
            verb = rng.choice(transitive)
            if kind == "quoi":
                return finish(wh_question("quoi", subject, verb, tense, None), question=True)
            countable = [n for n in self.lexicon.nouns_of(verb.classes) if n.cls != "drink"]
            if countable:
                return finish(how_many_question(rng.choice(countable), subject, verb, tense), question=True)
        verb = self._verb_for(rng, subject)
        complement = self._complement(rng, verb, subject, False)
        if kind == "yes_no":
            return finish(yes_no_question(subject, verb, tense, complement), question=True)
        return finish(wh_question(kind if kind != "combien" else "qui", subject, verb, tense, complement),
                      question=True)

    def _location(self, rng: random.Random) -> SentencePair:
        noun = rng.choice(self.lexicon.nouns_of(("object", "animal", "vehicle", "food", "person_m", "person_f",
                                                 "readable", "clothes")))
        plural = rng.random() < 0.4
        determiner = rng.choice(("def", "def", "poss"))
        possessor = rng.choice(("je", "tu", "nous", "vous")) if determiner == "poss" else None
        thing = noun_phrase(noun, plural, determiner, self._adjectives(rng, noun), possessor)
        return finish(location(thing, plural, self._place(rng, noun.cls)))

    def _counting(self, rng: random.Random) -> SentencePair:
        noun = rng.choice(self.lexicon.nouns_of(("object", "animal", "vehicle", "food", "readable", "clothes")))
        count = rng.randint(2, 100)
        things = noun_phrase(noun, True, "num", self._adjectives(rng, noun) if rng.random() < 0.4 else (),
                             count=count)
        if rng.random() < 0.5:
            return finish(there_are(things, count, self._place(rng, noun.cls)))
        subject = self._subject(rng)
        have = Verb("avoir", AVOIR, "eu", "avoir", "obj", (), ("have", "has", "had", "had"))
        return finish(clause(subject, have, "present", things))

    def sample(self, rng: random.Random) -> SentencePair:
        """One pair whose French and English both have `WORD_RANGE` words (redrawn until they do: a sentence
        like "Je tombe." is too short to be a useful utterance, five stacked modifiers too long)."""
        while True:
            pair = self._sample_any_length(rng)
            if all(WORD_RANGE[0] <= word_count(text) <= WORD_RANGE[1] for text in (pair.fr, pair.en)):
                return pair

    def _sample_any_length(self, rng: random.Random) -> SentencePair:
        roll = rng.random()
        if roll < 0.5:
            return self._statement(rng)
        if roll < 0.75:
            return self._question(rng)
        if roll < 0.88:
            return self._location(rng)
        return self._counting(rng)
