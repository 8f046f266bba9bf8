"""synth-noisy: clean synthetic English speech mixed with noise families, in the VoiceBank-DEMAND layout
(clean_trainset_wav/, noisy_trainset_wav/, clean_testset_wav/, noisy_testset_wav/) with EnhancementRecord manifests
train.jsonl and test.jsonl. Test SNRs are 0/5/10/15 dB, train SNRs continuous in [-5, 20] dB; test speakers are
unseen; one noise family (default babble: the most speech-like, so the hardest to generalise to) never occurs in
train and is flagged ``extra["heldout"]`` in the test manifest."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...audio import DEFAULT_MEL, save_audio
from ...errors import DataError
from ..manifest import EnhancementRecord, write_manifest
from ..noise import FAMILIES, NOISES, babble_from, mix_at_snr, reverberate
from ..speakers import SpeakerSpec, sample_speakers, sample_unseen_speakers, speak_english
from ..text import generate_pairs
from .runner import check_counts, check_out_dir, duration, finish_audio, run_jobs, write_corpus_info

TEST_SNRS = (0.0, 5.0, 10.0, 15.0)
FOLDERS = {"train": ("clean_trainset_wav", "noisy_trainset_wav"), "test": ("clean_testset_wav", "noisy_testset_wav")}


@dataclass(frozen=True)
class NoisyJob:
    id: str
    split: str
    text: str
    speaker: SpeakerSpec
    family: str
    snr_db: float
    seed: int
    babble_texts: tuple[str, ...]
    babble_speakers: tuple[SpeakerSpec, ...]
    clean_path: Path
    noisy_path: Path


def render_noisy(job: NoisyJob) -> None:
    mel = DEFAULT_MEL  # corpora are written at the project's front-end rate
    rng = np.random.default_rng(job.seed)
    clean = finish_audio(speak_english(job.text, job.speaker))
    if job.family == "babble":
        noise = babble_from([speak_english(t, s) for t, s in zip(job.babble_texts, job.babble_speakers)],
                            clean.size, rng)
        noisy = mix_at_snr(clean, noise, job.snr_db)
    elif job.family == "reverb":  # reverberant speech plus a faint white floor 25 dB down
        noisy = mix_at_snr(reverberate(clean, rng, mel.sample_rate), NOISES.get("white")(clean.size, rng,
                                                                                          mel.sample_rate), 25.0)
    else:
        noisy = mix_at_snr(clean, NOISES.get(job.family)(clean.size, rng, mel.sample_rate), job.snr_db)
    peak = max(float(np.abs(noisy).max()), float(np.abs(clean).max()))
    if peak > 0.99:  # scale the pair together so the clean reference stays the target of the noisy input
        clean, noisy = clean * (0.99 / peak), noisy * (0.99 / peak)
    save_audio(job.clean_path, clean, mel.sample_rate)
    save_audio(job.noisy_path, noisy, mel.sample_rate)


def plan(out_dir: Path, train: int, test: int, speakers: int, heldout: str, seed: int) -> list[NoisyJob]:
    sentences = generate_pairs(train + test + 400, seed + 7)
    rng = random.Random(seed + 11)
    seen = sample_speakers(speakers, rng)
    unseen = sample_unseen_speakers(max(2, speakers // 4), rng)
    babble_pool = [p.en for p in sentences[train + test:]]
    train_families = [f for f in FAMILIES if f != heldout]
    jobs = []
    for index, pair in enumerate(sentences[: train + test]):
        split = "test" if index < test else "train"
        number = index if split == "test" else index - test
        family = FAMILIES[number % len(FAMILIES)] if split == "test" else rng.choice(train_families)
        snr = (TEST_SNRS[(number // len(FAMILIES)) % len(TEST_SNRS)] if split == "test"
               else round(rng.uniform(-5, 20), 2))
        voices = unseen if split == "test" else seen
        talkers = rng.randint(3, 6)
        clean_dir, noisy_dir = (out_dir / folder for folder in FOLDERS[split])
        uid = f"{split}_{number:05d}"
        jobs.append(NoisyJob(uid, split, pair.en, voices[rng.randrange(len(voices))], family, snr,
                             seed * 100003 + index, tuple(rng.sample(babble_pool, talkers)),
                             tuple(rng.choice(seen + unseen) for _ in range(talkers)),
                             clean_dir / f"{uid}.wav", noisy_dir / f"{uid}.wav"))
    return jobs


def build(out_dir: Path, train: int = 4000, test: int = 800, speakers: int = 24, heldout: str = "babble",
          seed: int = 0, jobs: int = 2) -> dict[str, Path]:
    check_counts(train=train, test=test, speakers=speakers, jobs=jobs)
    if heldout not in FAMILIES:
        raise DataError(f"--heldout {heldout!r} is not one of {', '.join(FAMILIES)}")
    if speakers < 1:
        raise DataError("--speakers must be at least 1")
    out_dir = check_out_dir(out_dir)
    work = plan(out_dir, train, test, speakers, heldout, seed)
    started = time.perf_counter()
    ran = run_jobs(render_noisy, work, jobs, "synth-noisy", lambda j: (j.clean_path, j.noisy_path))
    manifests = {}
    for split in FOLDERS:
        records = [EnhancementRecord(
            id=j.id, speaker=j.speaker.id, clean_audio=j.clean_path.relative_to(out_dir).as_posix(),
            noisy_audio=j.noisy_path.relative_to(out_dir).as_posix(), text=j.text, noise_family=j.family,
            snr_db=None if j.family == "reverb" else j.snr_db, duration=duration(j.clean_path),
            extra={"heldout": j.family == heldout, "speaker_spec": j.speaker.to_dict()})
            for j in work if j.split == split]
        manifests[split] = write_manifest(out_dir / f"{split}.jsonl", records)
    write_corpus_info(out_dir, "synth-noisy", {"train": train, "test": test, "speakers": speakers,
                                               "heldout": heldout, "seed": seed, "jobs": jobs},
                      {split: sum(1 for j in work if j.split == split) for split in FOLDERS}, ran,
                      time.perf_counter() - started)
    return manifests
