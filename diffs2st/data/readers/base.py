"""The shared half of every real-corpus reader: turn what a corpus lists into manifest records.

A reader only knows its corpus layout. It returns a `Listing` of `Candidate` rows (an id, absolute audio paths
and the other record fields). `collect_records` does the rest the same way for every corpus:

1. checks that each audio file exists and that its header can be read (``soundfile.info``: the header only,
   never the samples, so listing a 100-hour corpus costs seconds, not hours);
2. fills the duration fields from those headers;
3. rewrites audio paths relative to the folder the manifest will be written to (`os.path.relpath`, matching
   `resolve_audio`, which resolves them against the manifest's folder);
4. counts rows whose audio is missing or unreadable: an error by default (one line naming how many and the
   first few ids), or skipped and reported with ``skip_missing=True``.
"""

from __future__ import annotations

import csv
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Optional, Sequence

import soundfile as sf
from tqdm import tqdm

from ...errors import DataError
from ..manifest import EnhancementRecord, S2STRecord, SpeechRecord

# For each record type: audio field -> the duration field its header fills (None: checked, not stored).
# The first entry is the record's main audio; its durations add up to the corpus hours.
DURATION_FIELDS: dict[type, dict[str, Optional[str]]] = {
    S2STRecord: {"src_audio": "src_duration", "tgt_audio": "tgt_duration"},
    SpeechRecord: {"audio": "duration"},
    EnhancementRecord: {"clean_audio": "duration", "noisy_audio": None},
}

FIRST_IDS_SHOWN = 3
DURATION_DECIMALS = 4  # 0.1 ms: finer than any frame hop, short enough to keep manifests readable


@dataclass(frozen=True)
class Candidate:
    """One row a corpus lists, before its audio is checked.

    ``audio`` maps record audio fields (e.g. ``src_audio``) to absolute paths; ``fields`` holds the other record
    fields. ``problem`` marks a row the reader already knows is incomplete (e.g. no transcript for its clip).
    """

    id: str
    audio: dict[str, Path]
    fields: dict[str, Any]
    problem: Optional[str] = None


@dataclass
class Listing:
    """What a reader found: the rows, plus notes on files it saw but could not turn into rows."""

    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """Records ready for `write_manifest`, with what was left out and why."""

    records: list[Any]
    missing: list[tuple[str, str]]  # (row id, what is missing) for rows skipped with skip_missing
    notes: list[str]
    seconds: float  # summed duration of each record's main audio

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


class CorpusReader(ABC):
    """A real corpus on disk -> a `Listing`. Subclasses set the class attributes and implement `list_rows`."""

    record_type: ClassVar[type]
    splits: ClassVar[tuple[str, ...]] = ()  # empty: the corpus has no splits; else the first is the default
    needs_source_root: ClassVar[bool] = False
    layout: ClassVar[str]  # one line naming the expected layout, quoted in every layout error

    @abstractmethod
    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        """The corpus rows of ``split`` (None when the corpus has no splits) under ``root``."""

    def check_split(self, split: Optional[str]) -> Optional[str]:
        """The split to read: ``split`` itself, the default one, or None; an impossible split is a DataError."""
        if not self.splits:
            if split is not None:
                raise DataError(f"{self.describe()} has no splits (got split {split!r})")
            return None
        if split is None:
            return self.splits[0]
        if split not in self.splits:
            raise DataError(f"{self.describe()} has no split {split!r} (known: {', '.join(self.splits)})")
        return split

    def describe(self) -> str:
        return type(self).__name__

    def layout_error(self, what: str) -> DataError:
        return DataError(f"{what}; expected layout: {self.layout}")

    def require_dir(self, path: Path, what: str) -> Path:
        if not path.is_dir():
            raise self.layout_error(f"missing {what} folder {path}")
        return path

    def require_file(self, path: Path, what: str) -> Path:
        if not path.is_file():
            raise self.layout_error(f"missing {what} file {path}")
        return path


def first_existing(paths: Iterable[Path], is_ok=Path.is_dir) -> Optional[Path]:
    """The first of ``paths`` for which ``is_ok`` holds (readers accept a few common unpacking layouts)."""
    for path in paths:
        if is_ok(path):
            return path
    return None


def read_tsv_with_header(path: Path, required: Sequence[str]) -> Iterable[dict[str, str]]:
    """Rows of a tab-separated file with a header line, as dicts; a missing column is a DataError.

    Quoting is off (``csv.QUOTE_NONE``): Common Voice sentences contain bare quote characters.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        absent = [name for name in required if name not in (reader.fieldnames or [])]
        if absent:
            raise DataError(f"{path} has no column {', '.join(absent)} (header: {reader.fieldnames})")
        yield from reader


def _header_seconds(path: Path) -> float:
    info = sf.info(str(path))
    if info.samplerate <= 0 or info.frames <= 0:
        raise RuntimeError("no audio frames")
    return info.frames / info.samplerate


def _check_audio(candidate: Candidate, durations: dict[str, Optional[str]]) -> tuple[dict[str, float], str | None]:
    """Header durations of the candidate's audio, or the first problem found (missing or unreadable file)."""
    seconds: dict[str, float] = {}
    for audio_field in durations:
        path = candidate.audio[audio_field]
        if not path.is_file():
            return seconds, f"{audio_field} {path} missing"
        try:
            seconds[audio_field] = _header_seconds(path)
        except (RuntimeError, sf.LibsndfileError) as exc:
            return seconds, f"{audio_field} {path} unreadable ({exc})"
    return seconds, None


def _relative(path: Path, manifest_dir: Path) -> str:
    # The manifest folder is resolved exactly as `resolve_audio` resolves it, so the round trip holds under
    # symlinked folders too.
    return Path(os.path.relpath(os.path.abspath(path), manifest_dir)).as_posix()


def _build_record(record_type: type, candidate: Candidate, seconds: dict[str, float], manifest_dir: Path,
                  durations: dict[str, Optional[str]]) -> Any:
    values = dict(candidate.fields)
    for audio_field, duration_field in durations.items():
        values[audio_field] = _relative(candidate.audio[audio_field], manifest_dir)
        if duration_field is not None:
            values[duration_field] = round(seconds[audio_field], DURATION_DECIMALS)
    return record_type(id=candidate.id, **values)


def missing_message(missing: list[tuple[str, str]], total: int) -> str:
    shown = "; ".join(f"{row_id}: {what}" for row_id, what in missing[:FIRST_IDS_SHOWN])
    more = f"; and {len(missing) - FIRST_IDS_SHOWN} more" if len(missing) > FIRST_IDS_SHOWN else ""
    return f"{len(missing)} of {total} rows have missing or unreadable audio or metadata ({shown}{more})"


def _check_unique_ids(candidates: list[Candidate]) -> None:
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.id in seen:
            raise DataError(f"the corpus lists row {candidate.id!r} twice; ids in a manifest must be unique")
        seen.add(candidate.id)


def collect_records(reader: CorpusReader, listing: Listing, manifest_dir: str | os.PathLike,
                    skip_missing: bool = False, progress: str = "") -> ImportResult:
    """Check, time and relativise every candidate of ``listing`` (see the module docstring)."""
    durations = DURATION_FIELDS[reader.record_type]
    main_audio = next(iter(durations))
    manifest_dir = Path(manifest_dir).resolve()
    _check_unique_ids(listing.candidates)
    records, missing, total_seconds = [], [], 0.0
    for candidate in tqdm(listing.candidates, desc=progress or "reading headers", unit="row", disable=None):
        if candidate.problem is not None:
            missing.append((candidate.id, candidate.problem))
            continue
        seconds, problem = _check_audio(candidate, durations)
        if problem is not None:
            missing.append((candidate.id, problem))
            continue
        records.append(_build_record(reader.record_type, candidate, seconds, manifest_dir, durations))
        total_seconds += seconds[main_audio]
    if missing and not skip_missing:
        raise DataError(missing_message(missing, len(listing.candidates)) + "; pass --skip-missing "
                        "(skip_missing=True) to import the rest")
    return ImportResult(records=records, missing=missing, notes=list(listing.notes), seconds=total_seconds)
