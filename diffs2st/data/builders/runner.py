"""The one job runner every builder uses.

A builder first makes a PLAN: a list of jobs, each holding every random choice already made from the seed and the
paths it writes. `run_jobs` then skips jobs whose outputs all exist (resume), removes temporary files a killed run
left behind, and runs the rest in a process pool with a progress bar. Outputs are written through temporary files and
renames (`save_audio`), so a file that exists is complete. A builder that records its plan (`refresh_changed_jobs`,
``OUT/plan.json``: a digest of every job) also renders again the jobs whose choices changed since their files were
written (a new voice table, say), so a resumed build never mixes two plans.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ...audio import DEFAULT_MEL, MelConfig, normalize_loudness
from ...audio.io import atomic_write_bytes
from ...errors import DataError
from ..manifest import S2STRecord, write_manifest


def remove_stale_temporaries(folders: Sequence[Path]) -> int:
    """Delete ``.*.tmp`` files an interrupted run left in ``folders``; returns how many."""
    removed = 0
    for folder in folders:
        if folder.is_dir():
            for path in folder.glob(".*.tmp"):
                path.unlink()
                removed += 1
    return removed


def run_jobs(function: Callable[[Any], None], jobs: Sequence[Any], workers: int, desc: str,
             outputs: Callable[[Any], Sequence[Path]]) -> int:
    """Run ``function(job)`` for every job whose outputs are not all present; returns how many ran."""
    folders = sorted({path.parent for job in jobs for path in outputs(job)})
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folders)
    pending = [job for job in jobs if not all(path.is_file() for path in outputs(job))]
    if not pending:
        return 0
    if workers <= 1:
        for job in tqdm(pending, desc=desc):
            function(job)
    else:
        with get_context("fork").Pool(workers, initializer=_single_thread) as pool:
            for _ in tqdm(pool.imap_unordered(function, pending, chunksize=4), total=len(pending), desc=desc):
                pass
    return len(pending)


PLAN_FILE = "plan.json"


def job_digest(*choices: Any) -> str:
    """A job's choices (text, speaker spec, seed...) as a short digest; JSON-serialisable values only."""
    text = json.dumps(choices, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def refresh_changed_jobs(out_dir: Path, jobs: dict[str, tuple[str, Sequence[Path]]]) -> int:
    """Delete the outputs of every job whose digest differs from the one ``OUT/plan.json`` recorded when they were
    rendered, or that it did not record (``jobs``: id -> (digest, output paths)), then record the current plan;
    returns how many jobs had outputs deleted.

    A folder holding audio but no plan.json was built before plans were recorded: what its files say cannot be
    checked, so it is refused (build in a new folder) rather than silently mixed with the current plan."""
    path = out_dir / PLAN_FILE
    if path.is_file():
        try:
            recorded = json.loads(path.read_text())["jobs"]
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path} is not a plan this builder wrote ({error}); delete it only together with "
                            "the audio it describes") from None
    elif any(out_dir.rglob("*.wav")):
        raise DataError(f"{out_dir} holds audio from a build that did not record its plan ({PLAN_FILE}), so it "
                        "cannot be checked against the current plan: build into a new folder")
    else:
        recorded = {}
    changed = [uid for uid, (digest, outputs) in jobs.items()
               if recorded.get(uid) != digest and any(output.exists() for output in outputs)]
    for uid in changed:
        for output in jobs[uid][1]:
            output.unlink(missing_ok=True)
    atomic_write_bytes(path, (json.dumps({"jobs": {uid: digest for uid, (digest, _) in sorted(jobs.items())}},
                                         indent=0) + "\n").encode())
    return len(changed)


def pair_record(job: Any, out_dir: Path, src_path: Path | None = None, uid: str | None = None) -> S2STRecord:
    """The manifest record of a rendered French/English pair job (``id``, ``fr``, ``en``, ``speaker``, ``src_path``,
    ``tgt_path``); ``src_path`` and ``uid`` stand in for the job's own (a degraded copy of its source)."""
    src_path = src_path or job.src_path
    return S2STRecord(id=uid or job.id, speaker=job.speaker.id, src_audio=src_path.relative_to(out_dir).as_posix(),
                      src_text=job.fr, tgt_text=job.en, src_lang="fr", tgt_lang="en",
                      tgt_audio=job.tgt_path.relative_to(out_dir).as_posix(), src_duration=duration(src_path),
                      tgt_duration=duration(job.tgt_path), speaker_spec=job.speaker.to_dict())


def render_pairs_by_split(render: Callable[[Any], None], jobs: Sequence[Any], order: Sequence[str], workers: int,
                          desc: str, out_dir: Path) -> tuple[int, dict[str, Path]]:
    """Render pair ``jobs`` split by split in ``order``, writing each split's manifest as soon as its audio is done
    (a long build is usable before it ends); returns (how many ran, the manifest path of each split)."""
    ran, manifests = 0, {}
    for split in order:
        mine = [job for job in jobs if job.split == split]
        ran += run_jobs(render, mine, workers, f"{desc} {split}", lambda job: (job.src_path, job.tgt_path))
        manifests[split] = write_manifest(out_dir / f"{split}.jsonl", [pair_record(job, out_dir) for job in mine])
    return ran, manifests


def _single_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def finish_audio(wave: np.ndarray, mel: MelConfig = DEFAULT_MEL, margin_seconds: float = 0.08,
                 threshold_db: float = -45.0) -> np.ndarray:
    """Trim leading/trailing silence (frames ``threshold_db`` below the loudest, keeping a margin) and normalise
    the level to -26 dBFS active level."""
    wave = np.asarray(wave, dtype=np.float32)
    frame = int(0.01 * mel.sample_rate)
    frames = max(1, wave.size // frame)
    energy = 10 * np.log10((wave[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(energy > energy.max() + threshold_db)
    margin = int(margin_seconds * mel.sample_rate)
    start = max(0, loud[0] * frame - margin) if loud.size else 0
    end = min(wave.size, (loud[-1] + 1) * frame + margin) if loud.size else wave.size
    return normalize_loudness(wave[start:end], mel.sample_rate)


def duration(path: Path) -> float:
    return round(sf.info(str(path)).duration, 4)


def write_corpus_info(out_dir: Path, name: str, arguments: dict, counts: dict, synthesized: int,
                      seconds: float) -> None:
    info = {"corpus": name, "arguments": arguments, "counts": counts, "jobs_run_this_time": synthesized,
            "build_seconds_this_time": round(seconds, 1), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    atomic_write_bytes(out_dir / "corpus.json", (json.dumps(info, indent=2) + "\n").encode())


def check_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir} is a file, not a folder")
    if not out_dir.parent.is_dir():
        raise DataError(f"the parent folder of --out ({out_dir.parent}) does not exist")
    out_dir.mkdir(exist_ok=True)
    return out_dir


def check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if value < 0:
            raise DataError(f"--{name.replace('_', '-')} must not be negative, got {value}")
