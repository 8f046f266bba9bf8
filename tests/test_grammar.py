"""The bilingual grammar: hand-checked translations of each phenomenon, numbers, times, determinism, coverage."""

from __future__ import annotations

import random
import re

import pytest

from diffs2st.cli.main import main
from diffs2st.data.text import Grammar, generate_pairs
from diffs2st.data.text.grammar import (clause, finish, how_many_question, location, noun_phrase, noun_subject,
                                        place_phrase, pronoun_subject, there_are, where_question, wh_question,
                                        with_time, word_count, yes_no_question, Phrase)
from diffs2st.data.text.lexicon import load_lexicon
from diffs2st.data.text.numbers import clock_time, english_number, french_number
from diffs2st.errors import DataError

LEX = load_lexicon()
NOUN = {n.fr: n for n in LEX.nouns}
ADJ = {a.forms[0]: a for a in LEX.adjectives}
VERB = {v.infinitive: v for v in LEX.verbs}


def both(phrase):
    return phrase.fr, phrase.en


def test_agreement_and_adjective_placement():
    assert both(noun_phrase(NOUN["maison"], True, "def", (ADJ["petit"], ADJ["blanc"]))) == (
        "les petites maisons blanches", "the small white houses")
    assert both(noun_phrase(NOUN["chat"], False, "indef", (ADJ["noir"],))) == ("un chat noir", "a black cat")
    assert both(noun_phrase(NOUN["arbre"] if "arbre" in NOUN else NOUN["hôtel"], False, "def", (ADJ["beau"],))) == (
        "le bel hôtel", "the beautiful hotel")  # bel before a vowel; no elision after a pre-nominal adjective
    assert both(noun_phrase(NOUN["école"], False, "def")) == ("l'école", "the school")
    assert both(noun_phrase(NOUN["pomme"], True, "indef", (ADJ["petit"],))) == ("de petites pommes",
                                                                               "small apples")
    assert both(noun_phrase(NOUN["orange"], False, "indef")) == ("une orange", "an orange")


def test_possessives_follow_the_possessor_and_the_noun():
    assert noun_phrase(NOUN["école"], False, "poss", possessor="je").fr == "mon école"  # ma -> mon before a vowel
    assert both(noun_phrase(NOUN["valise"], True, "poss", possessor="ils")) == ("leurs valises", "their suitcases")
    sister = noun_subject(NOUN["sœur"], False)
    phrase = clause(sister, VERB["laver"], "present", noun_phrase(NOUN["robe"], False, "poss",
                                                                   possessor=sister.possessor))
    assert both(phrase) == ("la sœur lave sa robe", "the sister washes her dress")


def test_all_persons_in_three_tenses():
    complement = noun_phrase(NOUN["pomme"], False, "def")
    expected = {
        "present": ["je mange", "tu manges", "il mange", "elle mange", "nous mangeons", "vous mangez", "ils mangent",
                    "elles mangent"],
        "passe_compose": ["j'ai mangé", "tu as mangé", "il a mangé", "elle a mangé", "nous avons mangé",
                          "vous avez mangé", "ils ont mangé", "elles ont mangé"],
        "futur_proche": ["je vais manger", "tu vas manger", "il va manger", "elle va manger", "nous allons manger",
                         "vous allez manger", "ils vont manger", "elles vont manger"],
    }
    english = {"present": ["I eat", "you eat", "he eats", "she eats", "we eat", "you eat", "they eat", "they eat"],
               "passe_compose": ["I ate", "you ate", "he ate", "she ate", "we ate", "you ate", "they ate",
                                 "they ate"],
               "futur_proche": ["I am going to eat", "you are going to eat", "he is going to eat",
                                "she is going to eat", "we are going to eat", "you are going to eat",
                                "they are going to eat", "they are going to eat"]}
    for tense in expected:
        for index in range(8):
            phrase = clause(pronoun_subject(index), VERB["manger"], tense, complement)
            assert phrase.fr == expected[tense][index] + " la pomme"
            assert phrase.en == english[tense][index] + " the apple"


def test_participle_agreement_with_etre():
    assert both(clause(pronoun_subject(7), VERB["partir"], "passe_compose")) == ("elles sont parties", "they left")
    assert clause(pronoun_subject(0, "f"), VERB["aller"], "passe_compose",
                  Phrase("à la gare", "to the station")).fr == "je suis allée à la gare"
    assert clause(pronoun_subject(4, "m"), VERB["venir"], "passe_compose").fr == "nous sommes venus"


def test_negations():
    apple = noun_phrase(NOUN["soupe"], False, "def")
    he = pronoun_subject(2)
    assert both(clause(he, VERB["manger"], "present", apple, "pas")) == ("il ne mange pas la soupe",
                                                                        "he does not eat the soup")
    assert both(clause(he, VERB["manger"], "present", apple, "jamais")) == ("il ne mange jamais la soupe",
                                                                           "he never eats the soup")
    assert both(clause(he, VERB["manger"], "present", apple, "plus")) == ("il ne mange plus la soupe",
                                                                         "he no longer eats the soup")
    assert both(clause(pronoun_subject(0), VERB["aimer"], "passe_compose", apple, "pas")) == (
        "je n'ai pas aimé la soupe", "I did not like the soup")
    assert both(clause(pronoun_subject(0), VERB["aimer"], "passe_compose", apple, "jamais")) == (
        "je n'ai jamais aimé la soupe", "I have never liked the soup")
    assert clause(pronoun_subject(1), VERB["partir"], "futur_proche", None, "pas").en == "you are not going to leave"


def test_questions():
    you, apple = pronoun_subject(1), noun_phrase(NOUN["pomme"], False, "def")
    assert both(finish(yes_no_question(you, VERB["manger"], "present", apple), True)) == (
        "Est-ce que tu manges la pomme ?", "Do you eat the apple?")
    assert finish(yes_no_question(pronoun_subject(2), VERB["manger"], "passe_compose", apple), True).fr == (
        "Est-ce qu'il a mangé la pomme ?")
    assert both(finish(wh_question("quoi", you, VERB["manger"], "present", None), True)) == (
        "Qu'est-ce que tu manges ?", "What do you eat?")
    assert both(finish(wh_question("qui", None, VERB["manger"], "passe_compose", apple), True)) == (
        "Qui a mangé la pomme ?", "Who ate the apple?")
    assert both(finish(wh_question("pourquoi", pronoun_subject(5), VERB["dormir"], "present", None), True)) == (
        "Pourquoi est-ce que vous dormez ?", "Why do you sleep?")
    assert both(finish(how_many_question(NOUN["pomme"], you, VERB["manger"], "passe_compose"), True)) == (
        "Combien de pommes est-ce que tu as mangées ?", "How many apples did you eat?")
    assert both(finish(where_question(noun_phrase(NOUN["gare"], False, "def"), False), True)) == (
        "Où est la gare ?", "Where is the station?")


@pytest.mark.parametrize("n,fr,en", [(0, "zéro", "zero"), (21, "vingt et un", "twenty one"),
                                     (71, "soixante et onze", "seventy one"), (80, "quatre-vingts", "eighty"),
                                     (91, "quatre-vingt-onze", "ninety one"),
                                     (99, "quatre-vingt-dix-neuf", "ninety nine"), (100, "cent", "one hundred")])
def test_numbers(n, fr, en):
    assert french_number(n) == fr and english_number(n) == en


def test_numbers_and_prepositions_in_sentences():
    apples = noun_phrase(NOUN["pomme"], True, "num", count=21)
    table = place_phrase("sur", "on", noun_phrase(NOUN["table"], False, "def"))
    assert both(finish(there_are(apples, 21, table))) == ("Il y a vingt et une pommes sur la table.",
                                                          "There are twenty one apples on the table.")
    houses = noun_phrase(NOUN["maison"], True, "def", (ADJ["petit"], ADJ["blanc"]))
    near = place_phrase("près de", "near", noun_phrase(NOUN["parc"], False, "def"))
    assert both(finish(location(houses, True, near))) == ("Les petites maisons blanches sont près du parc.",
                                                          "The small white houses are near the park.")
    assert place_phrase("à côté de", "next to", noun_phrase(NOUN["magasin"], True, "def")).fr == (
        "à côté des magasins")
    assert clause(pronoun_subject(0), VERB["aller"], "present",
                  Phrase("à le marché", "to the market")).fr == "je vais au marché"


def test_clock_times():
    assert clock_time(7, 30) == ("à sept heures et demie", "at half past seven")
    assert clock_time(1, 0) == ("à une heure", "at one o'clock")
    assert clock_time(9, 45) == ("à neuf heures moins le quart", "at quarter to nine")
    leaves = clause(noun_subject(NOUN["train"], False), VERB["partir"], "present")
    time = Phrase(*clock_time(7, 30), frozenset({"time"}))
    assert both(finish(with_time(leaves, time))) == ("Le train part à sept heures et demie.",
                                                     "The train leaves at half past seven.")


def test_generation_is_deterministic_distinct_and_covers_every_phenomenon():
    pairs = generate_pairs(2000, seed=0)
    assert pairs == generate_pairs(2000, seed=0) and pairs[:50] != generate_pairs(50, seed=1)
    assert len({p.fr for p in pairs}) == len({p.en for p in pairs}) == 2000
    tags = {t for p in pairs for t in p.phenomena}
    assert {"agreement", "adjective_placement", "present", "passe_compose", "futur_proche", "negation",
            "question_yes_no", "question_wh", "number", "time", "preposition_place", "preposition_time",
            "possessive", "pronoun"} <= tags
    assert not any(re.search(r"\d", p.fr + p.en) for p in pairs)
    assert all(p.fr[0].isupper() and p.fr[-1] in ".?" and p.en[-1] in ".?" for p in pairs)
    assert all(4 <= word_count(text) <= 14 for p in pairs for text in (p.fr, p.en))
    assert {word_count(p.en) for p in pairs} >= {4, 14}  # the whole range is used


def test_lexicon_size_and_limits():
    assert Grammar().lexicon_size() >= 400
    with pytest.raises(DataError):
        generate_pairs(-1)


class OneSentenceGrammar(Grammar):
    """A grammar that can only ever say one thing, so asking it for two distinct pairs must fail."""

    def sample(self, rng):
        return finish(clause(pronoun_subject(0), VERB["dormir"], "present"))


def test_asking_for_more_pairs_than_the_grammar_can_make_is_a_data_error():
    assert [p.en for p in generate_pairs(1, grammar=OneSentenceGrammar())] == ["I sleep."]
    with pytest.raises(DataError, match="distinct"):
        generate_pairs(2, grammar=OneSentenceGrammar())


def test_elision_and_contraction_respect_mute_and_aspirated_h():
    hospital = noun_phrase(NOUN["hôpital"], False, "def")
    assert place_phrase("à côté de", "next to", hospital).fr == "à côté de l'hôpital"  # not "du hôpital"
    assert clause(pronoun_subject(0), VERB["aller"], "present", Phrase("à " + hospital.fr, "")).fr == (
        "je vais à l'hôpital")  # not "au hôpital"
    assert noun_phrase(NOUN["haricot"], False, "def").fr == "le haricot"  # aspirated h: no elision
    assert place_phrase("près de", "near", noun_phrase(NOUN["haricot"], False, "def")).fr == "près du haricot"
    assert noun_phrase(NOUN["hibou"], False, "def", (ADJ["beau"],)).fr == "le beau hibou"  # not "bel"
    assert noun_phrase(NOUN["histoire"], False, "poss", possessor="je").fr == "mon histoire"  # mute h
    assert both(noun_phrase(NOUN["œuf"], False, "indef", (ADJ["français"],))) == ("un œuf français",
                                                                                 "a French egg")


def test_animal_subjects_only_take_animal_verbs():
    grammar, rng = Grammar(), random.Random(0)
    dogs = noun_subject(NOUN["chien"], True)
    chosen = {grammar._verb_for(rng, dogs).infinitive for _ in range(200)}
    assert chosen and chosen <= LEX.animal_verbs
    people = {grammar._verb_for(rng, noun_subject(NOUN["médecin"], True)).infinitive for _ in range(200)}
    assert people - LEX.animal_verbs  # people also buy, read and write


def test_cli_prints_pairs(capsys):
    assert main(["data", "sentences", "--n", "7", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7 and all(len(line.split("\t")) == 2 for line in lines)
