"""`diffs2st translate IN`: direct speech-to-speech translation of a file, a folder of audio files or a manifest."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..errors import AudioError, OutputPathError
from ..pretrained import PRETRAINED_DIR
from .main import add_command
from .transcribe import source_inputs


def _run(args) -> int:
    from tqdm import tqdm

    from ..audio import load_audio, save_audio
    from ..audio.io import atomic_write_bytes
    from ..s2st.translator import DEFAULT_TEMPERATURE, Translator

    source = Path(args.input)
    if not source.exists():
        raise AudioError(f"no such file: {source}")
    batch = source.is_dir() or source.suffix == ".jsonl"
    out = Path(args.output)
    if not out.parent.is_dir():
        raise OutputPathError(f"output folder {out.parent} does not exist")
    if not batch and out.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise OutputPathError(f"{out} must end in .wav, .flac or .ogg (a folder is for batch input)")
    translator = Translator.from_pretrained(args.model, vocoder=args.vocoder)
    rate = translator.mel.sample_rate
    voice = load_audio(args.voice, rate) if args.voice else None
    inputs = source_inputs(source)
    waves = [load_audio(path, rate, max_seconds=args.max_seconds) for _, path in inputs]  # all checked first
    if batch:
        out.mkdir(exist_ok=True)
    temperature = DEFAULT_TEMPERATURE if args.temperature is None else args.temperature
    rows, seconds, start = [], 0.0, time.perf_counter()
    for (uid, _), wave in tqdm(list(zip(inputs, waves)), desc="translating", disable=not batch):
        result = translator.translate(wave, voice=voice, steps=args.steps, voice_guidance=args.voice_guidance,
                                      temperature=temperature, seed=args.seed)
        path = save_audio(out / f"{uid}.wav" if batch else out, result.wave, rate)
        seconds += len(wave) / rate
        rows.append({"id": uid, "src_text": result.src_text, "tgt_text": result.tgt_text, "audio": str(path),
                     "timings": {k: round(v, 4) for k, v in result.timings.items()}})
    elapsed = time.perf_counter() - start
    if batch:
        atomic_write_bytes(out / "translations.jsonl",
                           "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode())
    else:
        row = rows[0]
        print(json.dumps(row, ensure_ascii=False, indent=2) if args.json
              else f"source: {row['src_text']}\ntarget: {row['tgt_text']}\naudio:  {row['audio']}")
    print(f"translated {len(rows)} utterance(s), {seconds:.1f} s of audio in {elapsed:.2f} s "
          f"(RTF {elapsed / max(seconds, 1e-9):.3f})" + (f" -> {out}" if batch else ""),
          file=sys.stderr if args.json else sys.stdout)
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "translate")
    parser.add_argument("input", help="audio file, folder of audio files, or S2ST manifest (.jsonl)")
    parser.add_argument("-o", "--output", required=True,
                        help="output audio file (single input) or folder (batch: <id>.wav + translations.jsonl)")
    parser.add_argument("--voice", help="reference clip for the output voice (default: each input itself)")
    parser.add_argument("--steps", type=int, default=4, help="diffusion sampling steps")
    parser.add_argument("--voice-guidance", type=float, default=1.0, help="classifier-free guidance on the voice")
    parser.add_argument("--temperature", type=float, default=None,
                        help="scale of the decoder's starting noise (lower: cleaner, less varied; default: the "
                             "measured best, diffs2st.s2st.translator.DEFAULT_TEMPERATURE)")
    parser.add_argument("--model", default=str(PRETRAINED_DIR),
                        help="folder with st/, speaker-encoder/, synthesizer/, vocoder/")
    parser.add_argument("--vocoder", default=None, help="override the vocoder: checkpoint folder or 'griffin-lim'")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--json", action="store_true", help="print the single-file result as JSON")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="refuse inputs longer than this (0: none)")
    parser.set_defaults(func=_run)
