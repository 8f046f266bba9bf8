"""Numbers 0-100 and clock times written out in French and English (rules, not vocabulary)."""

from __future__ import annotations

FR_UNITS = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
            "treize", "quatorze", "quinze", "seize"]
FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
            "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def french_number(n: int, feminine: bool = False) -> str:
    """0-100 in French words (1990 spelling of hyphens kept traditional: 'vingt et un', 'quatre-vingt-dix')."""
    if not 0 <= n <= 100:
        raise ValueError(f"numbers are supported from 0 to 100, got {n}")
    if n == 100:
        return "cent"
    if n <= 16:
        word = FR_UNITS[n]
    elif n < 20:
        word = "dix-" + FR_UNITS[n - 10]
    elif n < 70:
        tens, unit = divmod(n, 10)
        word = FR_TENS[tens] + ("" if unit == 0 else " et un" if unit == 1 else "-" + FR_UNITS[unit])
    elif n < 80:  # soixante-dix ... soixante-dix-neuf, with 'soixante et onze'
        word = "soixante et onze" if n == 71 else "soixante-" + french_number(n - 60)
    else:  # quatre-vingts, quatre-vingt-un, ... quatre-vingt-dix-neuf
        word = "quatre-vingts" if n == 80 else "quatre-vingt-" + french_number(n - 80)
    if feminine and (word == "un" or word.endswith(" un") or word.endswith("-un")):
        word = word[:-2] + "une"
    return word


def english_number(n: int) -> str:
    if not 0 <= n <= 100:
        raise ValueError(f"numbers are supported from 0 to 100, got {n}")
    if n == 100:
        return "one hundred"
    if n < 20:
        return EN_UNITS[n]
    tens, unit = divmod(n, 10)
    return EN_TENS[tens] + ("" if unit == 0 else " " + EN_UNITS[unit])


MINUTE_WAYS = {0: ("", "{h} o'clock"), 15: (" et quart", "quarter past {h}"), 30: (" et demie", "half past {h}"),
               45: (" moins le quart", "quarter to {h}"), 5: (" cinq", "five past {h}"), 10: (" dix", "ten past {h}"),
               20: (" vingt", "twenty past {h}"), 25: (" vingt-cinq", "twenty five past {h}")}


def clock_time(hour: int, minutes: int) -> tuple[str, str]:
    """('à sept heures et demie', 'at half past seven') for hour 1-12; 45 is said 'h moins le quart' / 'quarter to
    h', i.e. 6:45 is (hour=7, minutes=45)."""
    if not 1 <= hour <= 12 or minutes not in MINUTE_WAYS:
        raise ValueError(f"unsupported time {hour}:{minutes:02d}")
    fr_suffix, en_pattern = MINUTE_WAYS[minutes]
    fr_hour = french_number(hour, feminine=True) + (" heure" if hour == 1 else " heures")
    return f"à {fr_hour}{fr_suffix}", "at " + en_pattern.format(h=english_number(hour))
