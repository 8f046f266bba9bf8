"""Readers for real corpora on disk -> the same manifest records the synthetic builders write.

    result = read_corpus("cvss-t", "/data/cvss_t", manifest_dir="/data/manifests", split="dev",
                         source_root="/data/cv-corpus-4/fr")
    write_manifest("/data/manifests/cvss_t_dev.jsonl", result.records)

Readers (`READERS`): cvss-c, cvss-t (S2STRecord), voicebank-demand (EnhancementRecord), vctk, audiomnist, fsdd
(SpeechRecord). Each module's docstring states the layout it assumes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ...errors import DataError
from ...registry import Registry
from .base import CorpusReader, ImportResult, Listing, collect_records
from .cvss import CvssReader
from .digits import AudioMnistReader, FsddReader
from .vctk import VctkReader, VoiceBankDemandReader

READERS: Registry[CorpusReader] = Registry("corpus reader")
READERS.register("cvss-c")(CvssReader("c"))
READERS.register("cvss-t")(CvssReader("t"))
READERS.register("voicebank-demand")(VoiceBankDemandReader())
READERS.register("vctk")(VctkReader())
READERS.register("audiomnist")(AudioMnistReader())
READERS.register("fsdd")(FsddReader())


def read_corpus(name: str, root: str | os.PathLike, manifest_dir: str | os.PathLike, split: Optional[str] = None,
                source_root: str | os.PathLike | None = None, skip_missing: bool = False) -> ImportResult:
    """Records of corpus ``name`` under ``root``, audio paths relative to ``manifest_dir``.

    ``split`` defaults to the corpus's first split (None for corpora without splits); ``source_root`` is the
    Common Voice release for CVSS. Rows with missing audio raise `DataError` unless ``skip_missing``.
    """
    reader = READERS.get(name)
    split = reader.check_split(split)
    if source_root is not None and not reader.needs_source_root:
        takers = ", ".join(other for other in READERS if READERS.get(other).needs_source_root)
        raise DataError(f"{name} takes no source root (only {takers} do)")
    listing = reader.list_rows(Path(root), split, Path(source_root) if source_root is not None else None)
    label = name if split is None else f"{name} {split}"
    return collect_records(reader, listing, manifest_dir, skip_missing=skip_missing, progress=label)


__all__ = ["READERS", "CorpusReader", "ImportResult", "Listing", "read_corpus", "AudioMnistReader", "CvssReader",
           "FsddReader", "VctkReader", "VoiceBankDemandReader"]
