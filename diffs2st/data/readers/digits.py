"""Spoken-digit corpora: AudioMNIST and the Free Spoken Digit Dataset (FSDD).

Both name files ``<digit>_<speaker>_<index>.wav``; a record's ``label`` is the digit ("7") and its text the
English word ("seven").

AudioMNIST layout assumed (github.com/soerenab/AudioMNIST): ``<root>/data/<speaker 01..60>/<digit>_<speaker>_
<index>.wav`` (``<root>`` may also be the data/ folder itself). ``data/audioMNIST_meta.txt`` (speaker age, gender,
accent) is not needed: a SpeechRecord has no field for it. The corpus has no official split.

FSDD layout assumed (github.com/Jakobovski/free-spoken-digit-dataset): ``<root>/recordings/<digit>_<speaker name>_
<index>.wav`` (``<root>`` may also be recordings/ itself). Official split: index 0-4 is test, 5-49 train;
split "all" (the default) takes every recording.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Optional

from ..manifest import SpeechRecord
from .base import Candidate, CorpusReader, Listing

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_FILE = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[A-Za-z0-9-]+)_(?P<index>[0-9]+)$")
FSDD_TEST_INDICES = range(0, 5)  # "recordings numbered 0-4 (inclusive) are in the test" (FSDD README)


def digit_candidate(path: Path, match: re.Match) -> Candidate:
    digit = match["digit"]
    return Candidate(id=path.stem, audio={"audio": path},
                     fields=dict(speaker=match["speaker"], text=DIGIT_WORDS[int(digit)], label=digit, lang="en"))


def digit_listing(paths: Iterable[Path], keep=lambda match: True) -> Listing:
    """Candidates of every ``<digit>_<speaker>_<index>.wav`` in ``paths`` that ``keep`` accepts; other .wav
    names are counted in the notes, never silently dropped."""
    candidates, odd_names = [], []
    for path in sorted(paths):
        match = DIGIT_FILE.match(path.stem)
        if match is None:
            odd_names.append(path.name)
        elif keep(match):
            candidates.append(digit_candidate(path, match))
    notes = []
    if odd_names:
        notes.append(f"{len(odd_names)} .wav files are not named <digit>_<speaker>_<index>.wav and were left out "
                     f"({', '.join(odd_names[:3])})")
    return Listing(candidates, notes)


class AudioMnistReader(CorpusReader):
    record_type = SpeechRecord
    layout = "<root>/data/<speaker 01..60>/<digit>_<speaker>_<index>.wav"

    def describe(self) -> str:
        return "AudioMNIST"

    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        self.require_dir(root, "AudioMNIST root")
        data_dir = root / "data" if (root / "data").is_dir() else root
        speaker_dirs = sorted(d for d in data_dir.iterdir() if d.is_dir() and d.name.isdigit())
        if not speaker_dirs:
            raise self.layout_error(f"no speaker folders (01..60) in {data_dir}")
        listing = digit_listing(path for folder in speaker_dirs for path in folder.glob("*.wav"))
        misplaced = [c.id for c in listing.candidates if c.fields["speaker"] != c.audio["audio"].parent.name]
        if misplaced:
            raise self.layout_error(f"{len(misplaced)} files sit in another speaker's folder ({misplaced[0]})")
        if not listing.candidates:
            raise self.layout_error(f"no <digit>_<speaker>_<index>.wav files under {data_dir}")
        return listing


class FsddReader(CorpusReader):
    record_type = SpeechRecord
    splits = ("all", "train", "test")
    layout = "<root>/recordings/<digit>_<speaker name>_<index>.wav"

    def describe(self) -> str:
        return "FSDD"

    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        self.require_dir(root, "FSDD root")
        recordings = root / "recordings" if (root / "recordings").is_dir() else root
        wavs = list(recordings.glob("*.wav"))
        if not wavs:
            raise self.layout_error(f"no .wav recordings in {recordings}")
        in_test = {"all": None, "test": True, "train": False}[split]
        listing = digit_listing(wavs, keep=lambda match: in_test is None
                                or (int(match["index"]) in FSDD_TEST_INDICES) == in_test)
        if not listing.candidates:
            raise self.layout_error(f"no recordings of split {split} in {recordings}")
        return listing
