"""Utterance records and JSONL manifests (one record per line, audio paths relative to the manifest's folder).

The synthetic builders and the readers of real corpora yield the same record types, so every trainer, judge
and benchmark reads one format. Reading is strict: an unknown or missing field is an error naming it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, TypeVar

from ..audio.io import atomic_write_bytes
from ..config import from_dict, to_dict
from ..errors import ConfigError, DataError


def speaker_voice(speaker_spec: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(voice family, base voice) a synthetic speaker is built on: corpus v2 specs name both; v1 specs name only
    their flite voice (family None); real corpora have neither."""
    spec = speaker_spec or {}
    return spec.get("family"), spec.get("base_voice", spec.get("flite_voice"))


@dataclass(frozen=True)
class S2STRecord:
    """A speech-to-speech translation pair (synth-cvss, CVSS-C/T). ``tgt_audio`` may be None (text-only target)."""

    id: str
    speaker: str
    src_audio: str
    src_text: str
    tgt_text: str
    src_lang: str = "fr"
    tgt_lang: str = "en"
    tgt_audio: Optional[str] = None
    src_duration: Optional[float] = None
    tgt_duration: Optional[float] = None
    speaker_spec: Optional[dict[str, Any]] = None


def weighted_order(records: list[S2STRecord], family_weights: Mapping[str, int]) -> list[int]:
    """Record indices, each repeated by its voice family's weight (1 when the family is not named)."""
    families = {speaker_voice(r.speaker_spec)[0] for r in records}
    unknown = sorted(set(family_weights) - families)
    if unknown:
        raise DataError(f"family_weights names {', '.join(unknown)}, which the manifest does not hold "
                        f"(its families: {', '.join(sorted(str(f) for f in families))})")
    if any(not isinstance(w, int) or w < 1 for w in family_weights.values()):
        raise DataError(f"family_weights must be whole numbers >= 1, got {dict(family_weights)}")
    return [i for i, r in enumerate(records) for _ in range(family_weights.get(speaker_voice(r.speaker_spec)[0], 1))]


@dataclass(frozen=True)
class SpeechRecord:
    """One utterance with its transcript (VCTK, digits, any ASR-style corpus)."""

    id: str
    speaker: str
    audio: str
    text: str
    lang: str = "en"
    duration: Optional[float] = None
    label: Optional[str] = None  # class label for classification-style corpora (e.g. the digit "7")
    speaker_spec: Optional[dict[str, Any]] = None


@dataclass(frozen=True)
class EnhancementRecord:
    """A clean/noisy pair (synth-noisy, VoiceBank-DEMAND)."""

    id: str
    speaker: str
    clean_audio: str
    noisy_audio: str
    text: Optional[str] = None
    noise_family: Optional[str] = None
    snr_db: Optional[float] = None
    duration: Optional[float] = None
    extra: dict[str, Any] = field(default_factory=dict)


Record = TypeVar("Record", S2STRecord, SpeechRecord, EnhancementRecord)


def write_manifest(path: str | os.PathLike, records: Iterable[Any]) -> Path:
    """Write records as JSONL atomically (a reader never sees a half-written manifest)."""
    lines = [json.dumps(to_dict(r), ensure_ascii=False, sort_keys=True) for r in records]
    payload = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    atomic_write_bytes(path, payload)
    return Path(path)


def iter_manifest(path: str | os.PathLike, record_type: type[Record]) -> Iterator[Record]:
    """Yield records of ``record_type`` from a JSONL manifest; malformed lines raise `DataError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such manifest: {path}")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            try:
                yield from_dict(record_type, data, f"{path}:{number}")
            except ConfigError as exc:
                raise DataError(str(exc)) from None


def read_manifest(path: str | os.PathLike, record_type: type[Record]) -> list[Record]:
    return list(iter_manifest(path, record_type))


def resolve_audio(manifest_path: str | os.PathLike, relative: str) -> Path:
    """Absolute path of an audio file named relative to the manifest's folder."""
    return (Path(manifest_path).resolve().parent / relative).resolve()


def manifest_clips(path: str | os.PathLike) -> list[tuple[Path, str]]:
    """(absolute audio path, speaker) for every clip of a manifest: both sides of S2STRecords (source and target
    audio, same speaker), or the audio of SpeechRecords."""
    return [(audio, speaker) for audio, speaker, _ in manifest_clips_with_specs(path)]


def manifest_clips_with_specs(path: str | os.PathLike) -> list[tuple[Path, str, Optional[dict[str, Any]]]]:
    """`manifest_clips` plus each clip's speaker_spec (None where the corpus has none, e.g. real recordings)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no manifest at {path}")
    first = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()), None)
    if first is None:
        raise DataError(f"{path} is empty")
    if "src_audio" in json.loads(first):
        records = read_manifest(path, S2STRecord)
        clips = [(a, r.speaker, r.speaker_spec) for r in records for a in (r.src_audio, r.tgt_audio) if a]
    else:
        clips = [(r.audio, r.speaker, r.speaker_spec) for r in read_manifest(path, SpeechRecord)]
    return [(resolve_audio(path, audio), speaker, spec) for audio, speaker, spec in clips]
