"""`diffs2st transcribe IN`: source transcript + translation of a file, a folder of audio files or a manifest."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import AudioError, OutputPathError
from ..pretrained import model_or_bundled
from .enhance import audio_files
from .main import add_command


def source_inputs(source: Path) -> list[tuple[str, Path]]:
    """(id, audio path) pairs: a manifest's records, a folder's audio files, or the one file."""
    from ..data.manifest import S2STRecord, read_manifest, resolve_audio

    if source.suffix == ".jsonl":
        return [(r.id, resolve_audio(source, r.src_audio)) for r in read_manifest(source, S2STRecord)]
    if source.is_dir():
        return [(p.stem, p) for p in audio_files(source)]
    return [(source.stem, source)]


def load_translator(path: str):
    from ..checkpoint import load_model
    from ..translation import SpeechTranslator

    return load_model(path, SpeechTranslator, "speech translator")


def _run(args) -> int:
    from ..audio import load_audio
    from ..audio.io import atomic_write_bytes
    from ..translation import translate_waves

    source = Path(args.input)
    if not source.exists():
        raise AudioError(f"no such file: {source}")
    batch = source.is_dir() or source.suffix == ".jsonl"
    if batch and not args.output:
        raise OutputPathError("a folder or manifest needs -o OUT.jsonl for the hypotheses")
    if args.output and not Path(args.output).parent.is_dir():
        raise OutputPathError(f"output folder {Path(args.output).parent} does not exist")
    model = load_translator(model_or_bundled(args.model, "st"))
    inputs = source_inputs(source)
    rate = model.config.mel.sample_rate
    waves = [load_audio(path, rate, max_seconds=args.max_seconds) for _, path in inputs]
    start = time.perf_counter()
    results = translate_waves(model, waves, args.batch_size, args.beam, progress=batch)
    elapsed = time.perf_counter() - start
    rows = [{"id": uid, "src_text": r.src_text, "tgt_text": r.tgt_text,
             "timings": {k: round(v, 4) for k, v in r.timings.items()}} for (uid, _), r in zip(inputs, results)]
    if args.output:
        atomic_write_bytes(args.output, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode())
    seconds = sum(w.size for w in waves) / rate
    if not batch:
        row = rows[0]
        print(json.dumps(row, ensure_ascii=False, indent=2) if args.json
              else f"source: {row['src_text']}\ntarget: {row['tgt_text']}")
    print(f"translated {len(rows)} utterance(s), {seconds:.1f} s of audio in {elapsed:.2f} s "
          f"(RTF {elapsed / max(seconds, 1e-9):.3f})" + (f" -> {args.output}" if args.output else ""),
          **({"file": __import__("sys").stderr} if args.json else {}))
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "transcribe")
    parser.add_argument("input", help="audio file, folder of audio files, or S2ST manifest (.jsonl)")
    parser.add_argument("-o", "--output", help="write JSONL lines {id, src_text, tgt_text} (needed for batch input)")
    parser.add_argument("--model", help="speech-translation checkpoint directory (default: the bundled st, in "
                        "$DIFFS2ST_PRETRAINED or the repository's pretrained/)")
    parser.add_argument("--beam", type=int, default=1, help="beam size (1: greedy search)")
    parser.add_argument("--batch-size", type=int, default=16, help="utterances decoded together")
    parser.add_argument("--json", action="store_true", help="print the single-file result as JSON")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="refuse inputs longer than this (0: none)")
    parser.set_defaults(func=_run)
