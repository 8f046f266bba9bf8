"""CVSS-C and CVSS-T (X→English speech-to-speech translation) paired with their Common Voice source clips.

Layout assumed (the CVSS v1.0 release README and its sample file names, github.com/google-research-datasets/cvss;
the Common Voice release layout used by CVSS, which pairs with Common Voice version 4):

    <cvss_root>/                   the unpacked cvss_c_fr_en_v1.0.tar.gz (or cvss_t_...); its parent holding
                                   it as fr/ or fr-en/ is accepted too
        train.tsv dev.tsv test.tsv no header; two tab-separated columns: the Common Voice clip file name
                                   (common_voice_fr_17732749.mp3) and the normalized English translation
        train/ dev/ test/          target speech named <clip file name>.wav, e.g.
                                   common_voice_fr_17732749.mp3.wav (24 kHz; our loader resamples).
                                   <clip stem>.wav (common_voice_fr_17732749.wav) is accepted too.
    <cv_root>/                     a Common Voice release's language folder; its parent holding fr/ is
                                   accepted too
        clips/<clip file name>     source speech (MP3)
        validated.tsv train.tsv dev.tsv test.tsv
                                   tab-separated with a header naming at least client_id, path, sentence;
                                   any of them may be absent, at least one must be there

CVSS splits (CoVoST 2's) differ from Common Voice's, so a clip's transcript and speaker are looked up in every
Common Voice tsv present. The speaker is the Common Voice ``client_id``. In CVSS-C every target is in one
canonical voice; in CVSS-T the target voice is transferred from the source clip, so its speaker is the source's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..manifest import S2STRecord
from .base import Candidate, CorpusReader, Listing, first_existing, read_tsv_with_header

COMMON_VOICE_TSVS = ("validated.tsv", "train.tsv", "dev.tsv", "test.tsv")
COMMON_VOICE_COLUMNS = ("client_id", "path", "sentence")
CLIP_SUFFIX = ".mp3"


def clip_key(name: str) -> str:
    """Common Voice clip id without the extension (older releases list clips without it)."""
    return name[: -len(CLIP_SUFFIX)] if name.endswith(CLIP_SUFFIX) else name


class CvssReader(CorpusReader):
    """CVSS-C (``variant="c"``) or CVSS-T (``variant="t"``) for one source language."""

    record_type = S2STRecord
    splits = ("train", "dev", "test")
    needs_source_root = True
    layout = ("<cvss_root>/[fr/]{train,dev,test}.tsv (clip<TAB>translation) + <cvss_root>/[fr/]<split>/"
              "<clip>.mp3.wav; source: <cv_root>/[fr/]clips/<clip>.mp3 + <cv_root>/[fr/]{validated,train,dev,"
              "test}.tsv (client_id, path, sentence)")

    def __init__(self, variant: str, language: str = "fr") -> None:
        if variant not in ("c", "t"):
            raise ValueError(f"CVSS variant must be 'c' or 't', got {variant!r}")
        self.variant = variant
        self.language = language

    def describe(self) -> str:
        return f"CVSS-{self.variant.upper()} ({self.language}->en)"

    def list_rows(self, root: Path, split: Optional[str], source_root: Optional[Path]) -> Listing:
        if source_root is None:
            raise self.layout_error(f"{self.describe()} needs the Common Voice {self.language} release "
                                    "(--source-root) for the source speech")
        cvss_dir = self._cvss_dir(root, split)
        cv_dir = self._common_voice_dir(source_root)
        target_dir = self.require_dir(cvss_dir / split, f"CVSS {split} target audio")
        pairs = self._translations(cvss_dir / f"{split}.tsv")
        sources = self._common_voice_rows(cv_dir, {clip_key(clip) for clip, _ in pairs})
        candidates = [self._candidate(clip, translation, target_dir, cv_dir / "clips", sources)
                      for clip, translation in pairs]
        return Listing(candidates)

    def _cvss_dir(self, root: Path, split: str) -> Path:
        self.require_dir(root, "CVSS root")
        options = (root, root / self.language, root / f"{self.language}-en")
        found = first_existing((d / f"{split}.tsv" for d in options), Path.is_file)
        if found is None:
            raise self.layout_error(f"no {split}.tsv in {root} (nor in {self.language}/ or {self.language}-en/)")
        return found.parent

    def _common_voice_dir(self, source_root: Path) -> Path:
        self.require_dir(source_root, "Common Voice root")
        found = first_existing((source_root / "clips", source_root / self.language / "clips"))
        if found is None:
            raise self.layout_error(f"no clips/ folder in Common Voice root {source_root} "
                                    f"(nor in {self.language}/clips)")
        return found.parent

    def _translations(self, tsv: Path) -> list[tuple[str, str]]:
        """(clip file name, English translation) per line of a header-less CVSS tsv."""
        pairs = []
        with tsv.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                clip, tab, translation = line.partition("\t")
                if not tab or not clip.strip() or "\t" in translation:
                    raise self.layout_error(f"{tsv}:{number}: expected 2 tab-separated columns")
                pairs.append((clip.strip(), translation.strip()))
        if not pairs:
            raise self.layout_error(f"{tsv} lists no clips")
        return pairs

    def _common_voice_rows(self, cv_dir: Path, wanted: set[str]) -> dict[str, dict[str, str]]:
        """Common Voice tsv rows of the ``wanted`` clips (keyed by `clip_key`), read from every tsv present."""
        tsvs = [cv_dir / name for name in COMMON_VOICE_TSVS if (cv_dir / name).is_file()]
        if not tsvs:
            raise self.layout_error(f"no Common Voice tsv ({', '.join(COMMON_VOICE_TSVS)}) in {cv_dir}")
        found: dict[str, dict[str, str]] = {}
        for tsv in tsvs:
            for row in read_tsv_with_header(tsv, COMMON_VOICE_COLUMNS):
                key = clip_key(row["path"] or "")
                if key in wanted and key not in found:
                    found[key] = row
            if len(found) == len(wanted):  # validated.tsv usually has them all: skip the rest
                break
        return found

    def _candidate(self, clip: str, translation: str, target_dir: Path, clips_dir: Path,
                   sources: dict[str, dict[str, str]]) -> Candidate:
        key = clip_key(clip)
        source_name = clip if clip.endswith(CLIP_SUFFIX) else clip + CLIP_SUFFIX
        target = target_dir / f"{source_name}.wav"
        if not target.is_file() and (target_dir / f"{key}.wav").is_file():
            target = target_dir / f"{key}.wav"
        row = sources.get(key)
        row_or_empty = row or {}
        fields = dict(speaker=row_or_empty.get("client_id") or "unknown", src_text=row_or_empty.get("sentence") or "",
                      tgt_text=translation, src_lang=self.language, tgt_lang="en")
        problem = None if row is not None else f"{clip} is in no Common Voice tsv of {clips_dir.parent}"
        return Candidate(id=key, audio={"src_audio": clips_dir / source_name, "tgt_audio": target},
                         fields=fields, problem=problem)
