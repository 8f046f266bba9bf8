"""`diffs2st enhance IN -o OUT --method NAME`: one file, a folder of audio files, or a manifest of noisy audio."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import AudioError, OutputPathError
from .main import add_command

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
# diffs2st.enhancement.ENHANCERS.names(), written out so that `--help` imports no torch; tests/test_cold_start.py
# keeps the two equal.
METHODS = ("deepfilternet3", "score-conditional", "score-prior", "spectral-gating")


def audio_files(folder: Path) -> list[Path]:
    """The audio files directly in ``folder``, sorted; none is an error."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudioError(f"{folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    return files


def _jobs(source: Path, out: Path) -> list[tuple[Path, Path]]:
    """(input, output) pairs: a file -> a file; a folder or a .jsonl manifest -> OUT/<name or id>.wav."""
    from ..data.manifest import EnhancementRecord, read_manifest, resolve_audio

    if source.suffix == ".jsonl":
        records = read_manifest(source, EnhancementRecord)
        return [(resolve_audio(source, r.noisy_audio), out / f"{r.id}.wav") for r in records]
    if source.is_dir():
        return [(p, out / f"{p.stem}.wav") for p in audio_files(source)]
    return [(source, out)]


def _run(args) -> int:
    from tqdm import tqdm

    from ..audio import load_audio, save_audio
    from ..enhancement import build_enhancer

    source, out = Path(args.input), Path(args.output)
    batch = source.is_dir() or source.suffix == ".jsonl"
    if not source.exists():
        raise AudioError(f"no such file: {source}")
    if batch and not out.parent.is_dir():
        raise OutputPathError(f"output folder {out.parent} does not exist")
    if batch and out.exists() and not out.is_dir():
        raise OutputPathError(f"{out} is a file; batch input needs an output folder")
    jobs = _jobs(source, out)
    clashes = sorted({str(o) for _, o in jobs if sum(other == o for _, other in jobs) > 1})
    if clashes:
        raise OutputPathError(f"two inputs would both be written to {clashes[0]} (same name, other suffix)")
    enhancer = build_enhancer(args.method, checkpoint=args.checkpoint, steps=args.steps, sampler=args.sampler,
                              t_star=args.t_star, classifier=args.classifier, guidance_scale=args.guidance_scale,
                              seed=args.seed)
    rate = enhancer.sample_rate  # a score enhancer's model's rate; the baselines' default
    waves = [load_audio(path, rate, max_seconds=args.max_seconds) for path, _ in jobs]  # all checked first
    if batch:
        out.mkdir(exist_ok=True)
    audio_seconds = elapsed = 0.0
    for (_, out_path), wave in tqdm(list(zip(jobs, waves)), desc=args.method, disable=len(jobs) == 1):
        start = time.perf_counter()
        enhanced = enhancer(wave)
        elapsed += time.perf_counter() - start
        audio_seconds += wave.size / rate
        save_audio(out_path, enhanced, rate)
    print(f"enhanced {len(jobs)} file(s), {audio_seconds:.1f} s of audio with {args.method} "
          f"(RTF {elapsed / max(audio_seconds, 1e-9):.3f}) -> {out}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "enhance")
    parser.add_argument("input", help="noisy audio file, folder of audio files, or EnhancementRecord manifest")
    parser.add_argument("-o", "--output", required=True, help="output file (or folder for batch input)")
    parser.add_argument("--method", default="deepfilternet3", choices=METHODS, help="enhancer")
    parser.add_argument("--checkpoint", default=None, help="score enhancers: checkpoint directory (default: bundled)")
    parser.add_argument("--steps", type=int, default=None, help="score enhancers: sampling steps")
    parser.add_argument("--sampler", default=None, help="score enhancers: ddim (the bundled default, with the "
                        "config's grid_end), pc, euler_maruyama, ode_euler, ode_heun, ...")
    parser.add_argument("--t-star", type=float, default=None, help="score-prior: time the input is perturbed to")
    parser.add_argument("--classifier", default=None, help="score enhancers: speaker classifier for guidance")
    parser.add_argument("--guidance-scale", type=float, default=None, help="classifier guidance scale (0: off)")
    parser.add_argument("--seed", type=int, default=None, help="score enhancers: sampling seed")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="refuse inputs longer than this (0: none)")
    parser.set_defaults(func=_run)
