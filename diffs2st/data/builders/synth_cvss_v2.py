"""synth-cvss v2: French source and voice-matched English target from several voice families (`voices.FAMILIES`),
the same WORLD transform on both sides, plus test splits for unseen voices and for noisy, reverberant input.

Splits (DESIGN §4): train / dev / test-seen-speakers (training speakers) / test-unseen-speakers (new speakers of the
trained base voices and new Kokoro blends, F0 bands no training speaker uses) / test-unseen-voices (speakers made
only of held-out base voices: an espeak-ng variant and a Kokoro anchor that never occur in train, alone or in a
blend) / test-noisy (the test-unseen-speakers pairs with their French reverberated and mixed with noise by
`augment.NOISY_TEST`; the clean English targets are shared) and dev-noisy (the dev pairs, so, made the same way with
other seeds, so settings for noisy input are chosen without touching a test split). No dev or test sentence occurs
in train.

Every split shares its utterances among the families by ``mix`` (test-unseen-voices equally among the families that
hold voices out, so each is measured on enough utterances). Kokoro joins its model once into ``OUT/.cache/kokoro``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from ...audio import MelConfig, load_audio, save_audio
from ...audio.io import atomic_write_bytes
from ...errors import DataError
from ..augment import NOISY_TEST, Augmenter
from ..manifest import write_manifest
from ..text import generate_pairs
from ..voices import FAMILIES, VoiceSpec, heldout_anchors, sample_voices, speak, split_counts
from .runner import (check_counts, check_out_dir, finish_audio, job_digest, pair_record, refresh_changed_jobs,
                     render_pairs_by_split, run_jobs, write_corpus_info)

SPLITS = ("train", "dev", "test-seen-speakers", "test-unseen-speakers", "test-unseen-voices", "test-noisy",
          "dev-noisy")
SYNTHESIZED = SPLITS[:-2]
BUILD_ORDER = ("test-seen-speakers", "test-unseen-speakers", "test-unseen-voices", "dev", "train")  # the small first
NOISY = {"test-noisy": "test-unseen-speakers", "dev-noisy": "dev"}  # noisy split -> the clean split it degrades
NOISY_SEED_OFFSET = {"test-noisy": 0, "dev-noisy": 50021}  # apart while test < 50 021 records
DEFAULT_MIX = {"espeak-ng": 0.45, "flite": 0.40, "kokoro": 0.15}
DEFAULTS = {"train": 10000, "dev": 500, "test": 500, "speakers": 240, "unseen_speakers": 30, "unseen_voices": 12}
CACHE = Path(".cache") / "kokoro"


@dataclass(frozen=True)
class PairJob:
    id: str
    split: str
    fr: str
    en: str
    speaker: VoiceSpec
    src_path: Path
    tgt_path: Path
    cache_dir: Path


@dataclass(frozen=True)
class NoisyJob:
    id: str
    clean: PairJob
    seed: int
    src_path: Path


def render_pair(job: PairJob) -> None:
    mel = MelConfig()
    save_audio(job.src_path, finish_audio(speak(job.fr, "fr", job.speaker, job.cache_dir)), mel.sample_rate)
    save_audio(job.tgt_path, finish_audio(speak(job.en, "en", job.speaker, job.cache_dir)), mel.sample_rate)


def render_noisy(job: NoisyJob) -> None:
    mel = MelConfig()
    clean = load_audio(job.clean.src_path, mel.sample_rate, max_seconds=None)
    save_audio(job.src_path, Augmenter(NOISY_TEST, mel.sample_rate)(clean, job.seed)[0], mel.sample_rate)


def parse_mix(text: str | dict | None) -> dict[str, float]:
    """``"espeak-ng=0.45,flite=0.4,kokoro=0.15"`` (or a dict) -> {family: share}; shares are renormalised."""
    if text is None:
        return dict(DEFAULT_MIX)
    if isinstance(text, dict):
        mix = {str(k): float(v) for k, v in text.items()}
    else:
        mix = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, share = item.partition("=")
            try:
                mix[name.strip()] = float(share)
            except ValueError:
                raise DataError(f"--mix item {item!r} is not FAMILY=SHARE") from None
    for name, share in mix.items():
        if name not in FAMILIES:
            raise DataError(f"--mix names unknown voice family {name!r} (known: {', '.join(FAMILIES)})")
        if share < 0:
            raise DataError(f"--mix share of {name} must not be negative, got {share}")
    if not mix or sum(mix.values()) <= 0:
        raise DataError("--mix needs at least one family with a positive share")
    return {name: share for name, share in mix.items() if share > 0}


def plan(out_dir: Path, train: int, dev: int, test: int, speakers: int, unseen_speakers: int, unseen_voices: int,
         mix: dict[str, float], seed: int) -> tuple[list[PairJob], list[NoisyJob]]:
    """Every choice of the corpus, made from ``seed``: sentences, speakers, families, who says what, and where."""
    heldout_mix = {name: 1.0 for name in mix if FAMILIES.get(name).heldout}  # equal shares: each family is judged
    sizes = {"test-seen-speakers": test, "test-unseen-speakers": test,
             "test-unseen-voices": test if heldout_mix else 0, "dev": dev, "train": train}
    pairs = generate_pairs(sum(sizes.values()), seed)
    rng = random.Random(seed + 1)
    pools = {"seen": sample_voices(split_counts(speakers, mix, True), "seen", rng, "spk"),
             "unseen-speakers": sample_voices(split_counts(unseen_speakers, mix, True), "unseen-speakers", rng, "new"),
             "unseen-voices": sample_voices(split_counts(unseen_voices, heldout_mix, True), "unseen-voices", rng,
                                            "voice")
             if heldout_mix and sizes["test-unseen-voices"] else []}
    kinds = {"test-unseen-speakers": "unseen-speakers", "test-unseen-voices": "unseen-voices"}
    cache_dir = out_dir / CACHE
    jobs, start = [], 0
    for split in BUILD_ORDER:
        pool = pools[kinds.get(split, "seen")]
        shares = heldout_mix if split == "test-unseen-voices" else mix
        families = [name for name, count in split_counts(sizes[split], shares).items() for _ in range(count)]
        rng.shuffle(families)
        for index, (pair, family) in enumerate(zip(pairs[start:start + sizes[split]], families)):
            voices = [spec for spec in pool if spec.family == family]
            if not voices:
                raise DataError(f"{split} needs {family} speakers: raise the speaker counts so every family in "
                                "--mix has at least one")
            uid = f"{split}-{index:05d}"
            folder = out_dir / split
            jobs.append(PairJob(uid, split, pair.fr, pair.en, voices[rng.randrange(len(voices))],
                                folder / f"{uid}.fr.wav", folder / f"{uid}.en.wav", cache_dir))
        start += sizes[split]
    noisy = [NoisyJob(f"{split}-{index:05d}", job, seed * 100003 + NOISY_SEED_OFFSET[split] + index,
                      out_dir / split / f"{split}-{index:05d}.fr.wav")
             for split, clean in NOISY.items() for index, job in enumerate(j for j in jobs if j.split == clean)]
    return jobs, noisy


def plan_digests(jobs: list[PairJob], noisy: list[NoisyJob]) -> dict[str, tuple[str, tuple[Path, ...]]]:
    """id -> (digest of every choice that shapes the job's audio, its outputs), for `refresh_changed_jobs`; a noisy
    job's digest holds its clean pair's, so a re-rendered source is degraded again."""
    pairs = {j.id: (job_digest(j.fr, j.en, j.speaker.to_dict()), (j.src_path, j.tgt_path)) for j in jobs}
    pairs.update({n.id: (job_digest(pairs[n.clean.id][0], n.seed), (n.src_path,)) for n in noisy})
    return pairs


def check_plan(jobs: list[PairJob]) -> None:
    """No dev/test sentence in train; no held-out base voice among the training speakers; unseen speakers unseen."""
    train = [j for j in jobs if j.split == "train"]
    train_text = {j.fr for j in train} | {j.en for j in train}
    leaked = [j.id for j in jobs if j.split != "train" and (j.fr in train_text or j.en in train_text)]
    if leaked:
        raise DataError(f"{len(leaked)} dev/test sentences also occur in train (first: {leaked[0]})")
    held = heldout_anchors()
    trained_voices = set().union(*(j.speaker.anchors for j in jobs
                                   if j.split in ("train", "dev", "test-seen-speakers"))) if jobs else set()
    if trained_voices & held:
        raise DataError(f"held-out voices {sorted(trained_voices & held)} occur in training speakers")
    for j in jobs:
        if j.split == "test-unseen-voices" and not j.speaker.anchors & held:
            raise DataError(f"{j.id}: an unseen-voice speaker without a held-out voice ({j.speaker.id})")
    train_ids = {j.speaker.id for j in train}
    if any(j.speaker.id in train_ids for j in jobs if j.split in ("test-unseen-speakers", "test-unseen-voices")):
        raise DataError("an unseen speaker also speaks in train")


def build(out_dir: Path, train: int = DEFAULTS["train"], dev: int = DEFAULTS["dev"], test: int = DEFAULTS["test"],
          speakers: int = DEFAULTS["speakers"], unseen_speakers: int = DEFAULTS["unseen_speakers"],
          unseen_voices: int = DEFAULTS["unseen_voices"], mix: str | dict | None = None, seed: int = 0,
          jobs: int = 2) -> dict[str, Path]:
    """Build (or finish building) corpus v2; returns the manifest path of each split."""
    check_counts(train=train, dev=dev, test=test, speakers=speakers, unseen_speakers=unseen_speakers,
                 unseen_voices=unseen_voices, jobs=jobs)
    shares = parse_mix(mix)
    if speakers < len(shares) or (test and (unseen_speakers < len(shares))):
        raise DataError(f"need at least one seen speaker per family ({len(shares)}), and one unseen speaker per "
                        "family when --test > 0")
    out_dir = check_out_dir(out_dir)
    work, noisy = plan(out_dir, train, dev, test, speakers, unseen_speakers, unseen_voices, shares, seed)
    check_plan(work)
    changed = refresh_changed_jobs(out_dir, plan_digests(work, noisy))
    if changed:
        print(f"synth-cvss v2: {changed} planned records changed since their audio was rendered (plan.json); "
              "rendering them again", flush=True)
    started = time.perf_counter()
    ran, manifests = render_pairs_by_split(render_pair, work, BUILD_ORDER, jobs, "synth-cvss v2", out_dir)
    augmenter = Augmenter(NOISY_TEST, MelConfig().sample_rate)
    for split in NOISY:
        mine = [n for n in noisy if n.id.startswith(f"{split}-")]
        ran += run_jobs(render_noisy, mine, jobs, f"synth-cvss v2 {split}", lambda j: (j.src_path,))
        manifests[split] = write_manifest(out_dir / f"{split}.jsonl",
                                          [pair_record(n.clean, out_dir, n.src_path, n.id) for n in mine])
        conditions = [json.dumps({"id": n.id, "clean": n.clean.id, "seed": n.seed, "applied": augmenter.draw(n.seed)})
                      for n in mine]
        atomic_write_bytes(out_dir / f"{split}.conditions.jsonl", ("\n".join(conditions) + "\n").encode()
                           if conditions else b"")
    counts = {split: sum(1 for j in work if j.split == split) for split in SYNTHESIZED}
    counts.update({split: sum(1 for n in noisy if n.id.startswith(f"{split}-")) for split in NOISY})
    families = {split: {name: sum(1 for j in work if j.split == split and j.speaker.family == name)
                        for name in shares} for split in SYNTHESIZED}
    write_corpus_info(out_dir, "synth-cvss", {
        "voices": "v2", "train": train, "dev": dev, "test": test, "speakers": speakers,
        "unseen_speakers": unseen_speakers, "unseen_voices": unseen_voices, "mix": shares, "seed": seed,
        "jobs": jobs}, {"utterances": counts, "families": families,
                        "speakers": {kind: len({j.speaker.id for j in work if j.split in splits}) for kind, splits in
                                     (("train", ("train",)), ("unseen", ("test-unseen-speakers",)),
                                      ("unseen_voices", ("test-unseen-voices",)))},
                        "base_voices_in_train": sorted(set().union(*(j.speaker.anchors for j in work
                                                                     if j.split == "train")) if work else [])},
                      ran, time.perf_counter() - started)
    return manifests
