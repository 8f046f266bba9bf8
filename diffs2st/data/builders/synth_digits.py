"""synth-digits: spoken digits 0-9 in the AudioMNIST layout (data/<speaker>/<digit>_<speaker>_<repetition>.wav),
English by flite (or French by espeak-ng) through each speaker's transform, with a small per-repetition jitter of
F0 and rate; test speakers are disjoint from train (drawn from the unseen F0 bands). Manifests train.jsonl and
test.jsonl of SpeechRecord with the digit as ``label``."""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path

from ...audio import DEFAULT_MEL, save_audio
from ...errors import DataError
from ..manifest import SpeechRecord, write_manifest
from ..speakers import SpeakerSpec, sample_speakers, sample_unseen_speakers, speak_english, speak_french
from .runner import check_counts, check_out_dir, duration, finish_audio, run_jobs, write_corpus_info

WORDS = {"en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
         "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")}


@dataclass(frozen=True)
class DigitJob:
    id: str
    split: str
    digit: int
    lang: str
    speaker: SpeakerSpec  # with this repetition's jitter applied
    speaker_id: str
    path: Path


def render_digit(job: DigitJob) -> None:
    speak = speak_english if job.lang == "en" else speak_french
    save_audio(job.path, finish_audio(speak(WORDS[job.lang][job.digit], job.speaker)), DEFAULT_MEL.sample_rate)


def build(out_dir: Path, speakers: int = 60, test_speakers: int = 12, repetitions: int = 5, lang: str = "en",
          seed: int = 0, jobs: int = 2) -> dict[str, Path]:
    check_counts(speakers=speakers, test_speakers=test_speakers, repetitions=repetitions, jobs=jobs)
    if not 0 < test_speakers < speakers or repetitions < 1:
        raise DataError("need 0 < --test-speakers < --speakers and --repetitions >= 1")
    if lang not in WORDS:
        raise DataError(f"--lang must be one of {', '.join(WORDS)}")
    out_dir = check_out_dir(out_dir)
    rng = random.Random(seed)
    groups = {"train": sample_speakers(speakers - test_speakers, rng),
              "test": sample_unseen_speakers(test_speakers, rng)}
    work = []
    for split, group in groups.items():
        for number, spec in enumerate(group):
            name = f"{number + 1 + (0 if split == 'train' else speakers - test_speakers):02d}"
            for digit in range(10):
                for repetition in range(repetitions):
                    jitter = dataclasses.replace(spec, f0_scale=round(spec.f0_scale * rng.uniform(0.97, 1.03), 4),
                                                 rate=round(spec.rate * rng.uniform(0.95, 1.05), 4))
                    path = out_dir / "data" / name / f"{digit}_{name}_{repetition}.wav"
                    work.append(DigitJob(f"{digit}_{name}_{repetition}", split, digit, lang, jitter, name, path))
    started = time.perf_counter()
    ran = run_jobs(render_digit, work, jobs, "synth-digits", lambda j: (j.path,))
    manifests = {}
    for split in groups:
        records = [SpeechRecord(id=j.id, speaker=j.speaker_id, audio=j.path.relative_to(out_dir).as_posix(),
                                text=WORDS[lang][j.digit], lang=lang, duration=duration(j.path), label=str(j.digit),
                                speaker_spec=j.speaker.to_dict()) for j in work if j.split == split]
        manifests[split] = write_manifest(out_dir / f"{split}.jsonl", records)
    write_corpus_info(out_dir, "synth-digits", {"speakers": speakers, "test_speakers": test_speakers,
                                                "repetitions": repetitions, "lang": lang, "seed": seed},
                      {split: sum(1 for j in work if j.split == split) for split in groups}, ran,
                      time.perf_counter() - started)
    return manifests
