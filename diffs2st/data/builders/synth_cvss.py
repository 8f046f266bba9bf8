"""synth-cvss v1 (``--voices v1``): French source speech (espeak-ng) and voice-matched English target speech
(flite), the same WORLD speaker transform on both, from grammar sentence pairs. Splits: train, dev,
test-seen-speakers, test-unseen-speakers; no dev or test sentence occurs in train. Kept byte-identical so old
numbers can be reproduced; the default corpus is v2 (`synth_cvss_v2`)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from ...audio import DEFAULT_MEL, save_audio
from ...errors import DataError
from ..speakers import SpeakerSpec, sample_speakers, sample_unseen_speakers, speak_english, speak_french
from ..text import generate_pairs
from .runner import check_counts, check_out_dir, finish_audio, render_pairs_by_split, write_corpus_info

SPLITS = ("train", "dev", "test-seen-speakers", "test-unseen-speakers")
BUILD_ORDER = ("test-seen-speakers", "test-unseen-speakers", "dev", "train")  # the small splits first


@dataclass(frozen=True)
class PairJob:
    id: str
    split: str
    fr: str
    en: str
    speaker: SpeakerSpec
    src_path: Path
    tgt_path: Path


def render_pair(job: PairJob) -> None:
    mel = DEFAULT_MEL  # corpora are written at the project's front-end rate
    save_audio(job.src_path, finish_audio(speak_french(job.fr, job.speaker)), mel.sample_rate)
    save_audio(job.tgt_path, finish_audio(speak_english(job.en, job.speaker)), mel.sample_rate)


def plan(out_dir: Path, train: int, dev: int, test: int, speakers: int, unseen_speakers: int,
         seed: int) -> list[PairJob]:
    """Every choice of the corpus, made from ``seed``: sentences, speakers, who says what, where it goes."""
    sizes = {"test-seen-speakers": test, "test-unseen-speakers": test, "dev": dev, "train": train}
    pairs = generate_pairs(sum(sizes.values()), seed)
    rng = random.Random(seed + 1)
    seen, unseen = sample_speakers(speakers, rng), sample_unseen_speakers(unseen_speakers, rng)
    jobs, start = [], 0
    for split in BUILD_ORDER:
        voices = unseen if split == "test-unseen-speakers" else seen
        for index, pair in enumerate(pairs[start:start + sizes[split]]):
            speaker = voices[rng.randrange(len(voices))]
            uid = f"{split}-{index:05d}"
            folder = out_dir / split
            jobs.append(PairJob(uid, split, pair.fr, pair.en, speaker, folder / f"{uid}.fr.wav",
                                folder / f"{uid}.en.wav"))
        start += sizes[split]
    return jobs


def _check_disjoint(jobs: list[PairJob]) -> None:
    train = {j.fr for j in jobs if j.split == "train"} | {j.en for j in jobs if j.split == "train"}
    leaked = [j.id for j in jobs if j.split != "train" and (j.fr in train or j.en in train)]
    if leaked:
        raise DataError(f"{len(leaked)} dev/test sentences also occur in train (first: {leaked[0]})")


DEFAULTS = {"train": 10000, "dev": 500, "test": 500, "speakers": 40, "unseen_speakers": 10}


def build(out_dir: Path, train: int = 10000, dev: int = 500, test: int = 500, speakers: int = 40,
          unseen_speakers: int = 10, seed: int = 0, jobs: int = 2) -> dict[str, Path]:
    """Build (or finish building) the corpus; returns the manifest path of each split."""
    check_counts(train=train, dev=dev, test=test, speakers=speakers, unseen_speakers=unseen_speakers, jobs=jobs)
    if speakers < 1 or (test and unseen_speakers < 1):
        raise DataError("need at least one seen speaker, and one unseen speaker when --test > 0")
    out_dir = check_out_dir(out_dir)
    work = plan(out_dir, train, dev, test, speakers, unseen_speakers, seed)
    _check_disjoint(work)
    started = time.perf_counter()
    ran, manifests = render_pairs_by_split(render_pair, work, BUILD_ORDER, jobs, "synth-cvss", out_dir)
    counts = {split: sum(1 for j in work if j.split == split) for split in SPLITS}
    write_corpus_info(out_dir, "synth-cvss", {"train": train, "dev": dev, "test": test, "speakers": speakers,
                                              "unseen_speakers": unseen_speakers, "seed": seed, "jobs": jobs},
                      counts, ran, time.perf_counter() - started)
    return manifests
