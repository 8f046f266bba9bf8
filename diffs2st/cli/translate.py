"""`diffs2st translate IN`: direct speech-to-speech translation of a file, a folder of audio files or a manifest.

A single file up to ``--segment-seconds`` long is one utterance, translated whole. A longer file (or any file with
``--srt``/``--vtt``/``--segments-json``/``--keep-timing``) is translated long-form: read from disk block by block,
cut into segments by a voice-activity detector, each segment translated as it is found and its English audio
written at once (`diffs2st.s2st.streaming`). ``--stream`` does the same chunk by chunk (``--chunk-ms``) as a live
input would arrive, from a file or from raw 16-bit PCM on stdin (``-``), and prints each segment with its latency.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..errors import AudioError, ConfigError, OutputPathError
from .main import add_command
from .transcribe import source_inputs

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def _long_form_requested(args) -> bool:
    return bool(args.srt or args.vtt or args.segments_json or args.keep_timing)


def _run(args) -> int:
    from ..s2st.streaming import audio_duration

    if args.input == "-" and not args.stream:
        raise ConfigError("reading raw PCM from stdin ('-') needs --stream")
    source = Path(args.input)
    if args.input != "-" and not source.exists():
        raise AudioError(f"no such file: {source}")
    batch = args.input != "-" and (source.is_dir() or source.suffix == ".jsonl")
    out = Path(args.output)
    if not out.parent.is_dir():
        raise OutputPathError(f"output folder {out.parent} does not exist")
    if args.realtime and not args.stream:
        raise ConfigError("--realtime paces a --stream input")
    if batch and (args.stream or _long_form_requested(args)):
        raise ConfigError("--stream, --srt, --vtt, --segments-json and --keep-timing take a single audio file")
    if not batch and out.suffix.lower() not in AUDIO_SUFFIXES:
        raise OutputPathError(f"{out} must end in .wav, .flac or .ogg (a folder is for batch input)")
    if not batch and (args.stream or _long_form_requested(args)
                      or audio_duration(source) > args.segment_seconds):
        return _run_long_form(args, source, out)
    return _run_utterances(args, source, out, batch)


def _run_utterances(args, source: Path, out: Path, batch: bool) -> int:
    """Each input file as one utterance (cut at silences only past --segment-seconds)."""
    from tqdm import tqdm

    from ..audio import load_audio, save_audio
    from ..audio.io import atomic_write_bytes
    from ..s2st.translator import Translator

    translator = Translator.from_pretrained(args.model, vocoder=args.vocoder)
    rate = translator.mel.sample_rate
    voice = load_audio(args.voice, rate) if args.voice else None
    inputs = source_inputs(source)
    waves = [load_audio(path, rate, max_seconds=args.max_seconds) for _, path in inputs]  # all checked first
    if batch:
        out.mkdir(exist_ok=True)
    rows, seconds, start = [], 0.0, time.perf_counter()
    for (uid, _), wave in tqdm(list(zip(inputs, waves)), desc="translating", disable=not batch):
        result = translator.translate(wave, voice=voice, max_segment_seconds=args.segment_seconds,
                                      seed=args.seed, **_synthesis_options(args))
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


def _synthesis_options(args) -> dict:
    from ..s2st.translator import DEFAULT_TEMPERATURE

    return {"steps": args.steps, "voice_guidance": args.voice_guidance,
            "temperature": DEFAULT_TEMPERATURE if args.temperature is None else args.temperature}


def _run_long_form(args, source: Path, out: Path) -> int:
    """Long-form and streaming translation of one input (file or stdin) into one audio file + optional subtitles."""
    from tqdm import tqdm

    from ..audio import check_output_path, load_audio
    from ..s2st.streaming import (AudioSink, OutputTimeline, audio_duration, file_blocks, latency_summary,
                                  pcm_blocks, print_segment, write_segments_json, write_subtitles)
    from ..s2st.translator import Translator

    for extra, suffix in ((args.srt, ".srt"), (args.vtt, ".vtt"), (args.segments_json, ".json")):
        if extra and Path(extra).suffix.lower() != suffix:
            raise OutputPathError(f"{extra} must end in {suffix}")
        if extra:
            check_output_path(extra)
    translator = Translator.from_pretrained(args.model, vocoder=args.vocoder)
    rate = translator.mel.sample_rate
    voice = load_audio(args.voice, rate) if args.voice else None
    block_seconds = args.chunk_ms / 1000 if args.stream else 1.0
    if args.input == "-":
        total, blocks = None, pcm_blocks(sys.stdin.buffer, rate, block_seconds, args.max_seconds)
    else:
        total, blocks = audio_duration(source), file_blocks(source, rate, block_seconds, args.max_seconds)
    heard = [0]

    def counted(chunks):
        started = time.perf_counter()
        for chunk in chunks:
            if args.realtime:  # hand each chunk over when its last sample would have been spoken
                time.sleep(max(0.0, started + (heard[0] + chunk.size) / rate - time.perf_counter()))
            heard[0] += chunk.size
            progress.update(min(chunk.size / rate, (total or float("inf")) - progress.n))  # resampling rounds
            yield chunk

    sink = AudioSink(out, rate, atomic=not args.stream)
    timeline = OutputTimeline(rate, args.keep_timing, translator.vocoder)
    progress = tqdm(total=total, unit="s", desc="translating", disable=args.stream or args.json,
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
    rows, start = [], time.perf_counter()
    try:
        for segment in translator.stream(counted(blocks), voice=voice, vad=args.vad,
                                         max_segment_seconds=args.segment_seconds, seed=args.seed,
                                         **_synthesis_options(args)):
            wave, placed = timeline.place(segment)
            sink.write(wave)
            rows.append(segment.row() | {  # where its English speech lies in the output
                "out_start": round(placed / rate, 4) if segment.wave.size else None,
                "out_end": round(timeline.cursor / rate, 4) if segment.wave.size else None})
            if args.stream and not args.json:
                print_segment(segment)
        sink.write(timeline.tail(heard[0] / rate))
    except BaseException:
        progress.close()
        sink.close(keep=args.stream)  # a stream keeps what it wrote; a long-form run leaves nothing half-done
        raise
    progress.close()
    sink.close()
    elapsed = time.perf_counter() - start
    seconds = heard[0] / rate
    summary = {"input": args.input, "audio": str(out), "source_seconds": round(seconds, 3),
               "output_seconds": round(sink.samples / rate, 3), "wall_seconds": round(elapsed, 3),
               "rtf": round(elapsed / max(seconds, 1e-9), 4), "vad": args.vad,
               **{k: round(v, 4) for k, v in latency_summary(rows).items()}}
    for path in (args.srt, args.vtt):
        if path:
            write_subtitles(rows, path)
    if args.segments_json:
        write_segments_json(rows, summary, args.segments_json)
    if args.json:
        print(json.dumps({"src_text": " ".join(r["src_text"] for r in rows if r["src_text"]),
                          "tgt_text": " ".join(r["tgt_text"] for r in rows if r["tgt_text"]),
                          **summary, "segments": rows}, ensure_ascii=False, indent=2))
    report = sys.stderr if args.json else sys.stdout
    if not summary["spoken_segments"]:
        print(f"no speech found in {args.input}: {out} holds {summary['output_seconds']:.1f} s of silence",
              file=report)
    print(f"translated {summary['segments']} segment(s), {seconds:.1f} s of audio in {elapsed:.2f} s "
          f"(RTF {summary['rtf']:.3f})" + (f"; latency mean {summary['latency_mean_s']:.2f} s, "
                                           f"p95 {summary['latency_p95_s']:.2f} s" if summary["spoken_segments"]
                                           else "") + f" -> {out}", file=report)
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "translate")
    parser.add_argument("input", help="audio file, folder of audio files, or S2ST manifest (.jsonl); with --stream "
                                      "'-' reads raw 16-bit little-endian mono PCM at 16 kHz from stdin")
    parser.add_argument("-o", "--output", required=True,
                        help="output audio file (single input) or folder (batch: <id>.wav + translations.jsonl)")
    parser.add_argument("--voice", help="reference clip for the output voice (default: the input itself; "
                                        "long-form: the speaker heard so far)")
    parser.add_argument("--steps", type=int, default=4, help="diffusion sampling steps")
    parser.add_argument("--voice-guidance", type=float, default=1.0, help="classifier-free guidance on the voice")
    parser.add_argument("--temperature", type=float, default=None,
                        help="scale of the decoder's starting noise (lower: cleaner, less varied; default: the "
                             "measured best, diffs2st.s2st.translator.DEFAULT_TEMPERATURE)")
    parser.add_argument("--model", help="folder with st/, speaker-encoder/, synthesizer/, vocoder/ (default: the "
                                        "bundled models, in $DIFFS2ST_PRETRAINED or the repository's pretrained/)")
    parser.add_argument("--vocoder", default=None, help="override the vocoder: checkpoint folder or 'griffin-lim'")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--json", action="store_true", help="print the single-file result as JSON")
    parser.add_argument("--max-seconds", type=float, default=14400.0,
                        help="refuse inputs longer than this (0: none); long inputs are streamed from disk")
    long_form = parser.add_argument_group("long-form and streaming (a single input)")
    long_form.add_argument("--stream", action="store_true",
                           help="feed the input chunk by chunk as if live, write the English audio as it is made "
                                "and print each segment with its latency")
    long_form.add_argument("--chunk-ms", type=float, default=100.0, help="chunk length with --stream")
    long_form.add_argument("--realtime", action="store_true",
                           help="with --stream from a file, hand chunks over at the speed of speech (latencies are "
                                "the same without it: they are measured on a simulated real-time clock)")
    long_form.add_argument("--vad", default="silero",
                           help="voice-activity detector that cuts segments: silero, webrtc or energy "
                                "(diffs2st.audio.vad.VADS)")
    long_form.add_argument("--segment-seconds", type=float, default=12.0,
                           help="longest segment; a single file longer than this is translated long-form")
    long_form.add_argument("--srt", help="write subtitles (source + English text at source times) as SubRip")
    long_form.add_argument("--vtt", help="write the same subtitles as WebVTT")
    long_form.add_argument("--segments-json", help="write every segment (times, texts, latency) as JSON")
    long_form.add_argument("--keep-timing", action="store_true",
                           help="place each English segment at its source start (silence before it, sped up by "
                                "at most 1.25x to fit), for dubbing a video")
    parser.set_defaults(func=_run)
