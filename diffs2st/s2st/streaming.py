"""Streaming and long-form S2ST: audio chunks in, one translated segment out as soon as the speaker pauses.

    for segment in translator.stream(chunks):          # chunks: mono float32 at 16 kHz, any size (e.g. 20-100 ms)
        segment.src_text, segment.tgt_text, segment.wave, segment.start, segment.end, segment.latency

A voice-activity detector (`diffs2st.audio.vad`) closes a segment after a short pause (or at the maximum segment
length); the segment is translated, synthesized in the speaker's voice and vocoded, and handed out. The voice is a
running, duration-weighted mean of the speaker embeddings of every segment heard so far (forgetting with a time
constant of `SPEAKER_MEMORY_SECONDS`, so a change of speaker takes over), unless a ``voice`` reference fixes it.

Latency is measured on a simulated real-time clock: chunk k arrives when its last sample would have been spoken
(its end on the source timeline), work starts when both the chunk is there and earlier work is done, and takes
the measured wall time. A segment's ``latency`` is the time from the end of its speech to its English audio being
ready — what a listener waits, the VAD's pause included — for a single-threaded system fed in real time.

Long-form helpers read a file block by block (`file_blocks`, no whole-file decode, resampled by a streaming soxr
resampler), place English segments on the output timeline (`OutputTimeline`, optionally at their source times for
dubbing) and write subtitles (`write_subtitles`, SRT through ``srt``, WebVTT through ``webvtt-py``).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np
import torch

from ..audio.io import atomic_write_bytes
from ..audio.vad import Segmenter, build_vad
from ..errors import AudioError, AudioTooLongError, OutputPathError

SPEAKER_MEMORY_SECONDS = 120.0
# A segment whose voice is further than this (cosine) from the voice heard so far starts a new speaker. The bundled
# speaker encoder on 80 test-unseen clips (10 speakers): same speaker 5th percentile 0.89 (median 0.97), different
# speakers 95th percentile 0.74 (median -0.14).
SPEAKER_CHANGE_COSINE = 0.8
# Start translating a segment once its silence has lasted this long (the VAD's padding must be heard first).
SPECULATE_SECONDS = 0.13
# Segments start at their first sample within this many dB of their peak: the translator never heard digital silence
# (its clips start with the synthesizer's own quiet lead-in, not zeros), and zeros before speech cost it dearly. On
# 300 synth-cvss v1 dev clips, direct-st text BLEU: the clips 82.5; with 0.3 s of zeros before and after 55.3; those
# zeros trimmed at -90 dB 82.7, at -80 dB 81.1, at -50 dB (the first setting) 81.0 -- a deeper trim cuts into the
# quiet lead-in the model expects. Trailing zeros cost nothing measurable once the leading ones are gone.
TRIM_LEAD_DB = -90.0
# A dubbed segment may be sped up by at most this factor to end by its source segment's end (keep_timing).
MAX_STRETCH = 1.25


@dataclass
class StreamSegment:
    """One translated segment. Times are seconds on the source timeline."""

    index: int
    start: float  # segment start (VAD padding included)
    end: float  # segment end
    speech_end: float  # end of its last speech frame
    src_text: str
    tgt_text: str
    wave: np.ndarray = field(repr=False)  # English audio (samples,) at the MelConfig rate; empty if nothing said
    mel: np.ndarray = field(repr=False)  # (n_mels, frames)
    ready_at: float  # when its English audio was ready, on the simulated real-time clock
    latency: float  # ready_at - speech_end
    compute_seconds: float  # wall seconds spent translating it (VAD excluded)
    timings: dict[str, float] = field(default_factory=dict)
    wasted_seconds: float = 0.0  # compute spent since the previous segment on guesses that were dropped

    def row(self) -> dict:
        """JSON-ready fields (no audio)."""
        row = {name: getattr(self, name) for name in (
            "index", "start", "end", "speech_end", "src_text", "tgt_text", "ready_at", "latency", "compute_seconds",
            "wasted_seconds")}
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()} | {
            "spoken": bool(self.wave.size), "timings": {k: round(v, 4) for k, v in self.timings.items()}}


class SpeakerTracker:
    """The voice to speak in: a fixed reference's embedding, or the running mean of the segments heard so far (of
    the current speaker: a segment far from it, `SPEAKER_CHANGE_COSINE`, starts the mean again)."""

    def __init__(self, encoder, voice: np.ndarray | None = None, memory_seconds: float = SPEAKER_MEMORY_SECONDS):
        self.encoder, self.memory = encoder, memory_seconds
        self.fixed = encoder.embed_waves([voice]) if voice is not None else None
        self.total = None  # decayed, duration-weighted sum of the embeddings heard

    def propose(self, wave: np.ndarray, seconds: float) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The unit embedding (1, D) to speak one more segment in, and the memory that includes it (give it to
        `accept` once the segment is kept; a guess that is dropped leaves the memory as it was)."""
        if self.fixed is not None:
            return self.fixed, None
        embedding = self.encoder.embed_waves([wave])
        new_speaker = self.total is None or float(
            torch.nn.functional.cosine_similarity(embedding, self.total).min()) < SPEAKER_CHANGE_COSINE
        total = embedding * seconds if new_speaker else \
            self.total * math.exp(-seconds / self.memory) + embedding * seconds
        return torch.nn.functional.normalize(total, dim=-1), total

    def accept(self, total: torch.Tensor | None) -> None:
        if total is not None:
            self.total = total


def stream_translate(translator, chunks: Iterable[np.ndarray], voice: np.ndarray | None = None, vad: str = "silero",
                     max_segment_seconds: float = 12.0, min_silence_seconds: float = 0.25,
                     speculate_seconds: float | None = SPECULATE_SECONDS, trim_lead_db: float | None = TRIM_LEAD_DB,
                     seed: int = 0,
                     **synthesis) -> Iterator[StreamSegment]:
    """`Translator.stream`: translate audio chunks segment by segment (see the module docstring). ``synthesis``
    options (steps, voice_guidance, sampler, temperature, length_scale) go to `Translator.translate_segment`.

    With ``speculate_seconds`` (None: off) a segment is translated as soon as a silence has lasted that long, and
    the result is handed out when the silence reaches ``min_silence_seconds`` (the segment is then final); if the
    speaker goes on instead, the guess is dropped (its compute is the next segment's ``wasted_seconds``) and the
    longer segment translated."""
    rate = translator.mel.sample_rate
    segmenter = Segmenter(build_vad(vad, rate), max_segment_seconds=max_segment_seconds,
                          min_silence_seconds=min_silence_seconds, speculate_seconds=speculate_seconds,
                          trim_lead_db=trim_lead_db)
    with torch.inference_mode():
        speaker = SpeakerTracker(translator.speaker_encoder, voice)
    clock, heard, index, wasted = 0.0, 0, 0, 0.0
    guess = None  # (start, end, work) of the segment translated on a guess

    def work(found) -> tuple:
        """(result, compute seconds, the speaker memory with this segment)."""
        started = time.perf_counter()
        with torch.inference_mode():
            embedding, memory = speaker.propose(found.wave, found.wave.size / rate)
        result = translator.translate_segment(found.wave, embedding, seed=seed + index, **synthesis)
        return result, time.perf_counter() - started, memory

    def handle(found) -> StreamSegment | None:
        nonlocal clock, index, guess, wasted
        if not found.final:
            if guess is not None:  # an earlier guess for this segment: the speaker went on
                wasted += guess[2][1]
            guess = (found.start, found.end, work(found))
            clock += guess[2][1]
            return None
        if guess is not None and guess[:2] == (found.start, found.end):
            done = guess[2]
        else:
            wasted += guess[2][1] if guess is not None else 0.0
            done = work(found)
            clock += done[1]
        result, elapsed, memory = done
        speaker.accept(memory)
        guess = None
        segment = StreamSegment(index, found.start / rate, found.end / rate, found.speech_end / rate,
                                result.src_text, result.tgt_text, result.wave, result.mel, clock,
                                clock - found.speech_end / rate, elapsed, result.timings, wasted)
        index, wasted = index + 1, 0.0
        return segment

    for chunk in chunks:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        heard += chunk.size
        clock = max(clock, heard / rate)  # the chunk is complete only when its last sample has been spoken
        started = time.perf_counter()
        finished = segmenter.push(chunk)
        clock += time.perf_counter() - started
        for found in finished:
            segment = handle(found)
            if segment is not None:
                yield segment
    for found in segmenter.flush():
        yield handle(found)


# -- reading long inputs ------------------------------------------------------------------------------------------
def audio_duration(path: str | os.PathLike) -> float:
    """Seconds of audio in a file, from its header (nothing decoded)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"cannot decode {path} as audio ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    return info.frames / info.samplerate if info.samplerate else 0.0


def file_blocks(path: str | os.PathLike, sample_rate: int, block_seconds: float = 1.0,
                max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Mono float32 blocks of a file at ``sample_rate``, decoded and resampled block by block (soundfile blocks,
    soxr's ResampleStream): memory stays at one block whatever the file's length. The file is checked (exists,
    decodes, not over ``max_seconds``) before this returns."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"no such file: {path}")
    duration = audio_duration(path)
    if max_seconds and duration > max_seconds:
        raise AudioTooLongError(f"{path} is {duration:.1f} s long, over the limit of {max_seconds:g} s "
                                f"(raise it with --max-seconds, 0 for no limit)")
    return _decoded_blocks(path, sample_rate, block_seconds)


def _decoded_blocks(path: Path, sample_rate: int, block_seconds: float) -> Iterator[np.ndarray]:
    import soundfile as sf
    import soxr

    with sf.SoundFile(str(path)) as handle:
        rate = handle.samplerate
        resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ") \
            if rate != sample_rate else None
        for block in handle.blocks(blocksize=max(1, int(block_seconds * rate)), dtype="float32", always_2d=True):
            mono = block.mean(axis=1)
            yield resampler.resample_chunk(mono) if resampler else mono
        if resampler:
            yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def pcm_blocks(stream: BinaryIO, sample_rate: int, block_seconds: float = 0.1,
               max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Raw 16-bit little-endian mono PCM at ``sample_rate`` (e.g. stdin) as float32 blocks."""
    block_bytes, read, odd = 2 * max(1, int(block_seconds * sample_rate)), 0, b""
    while True:
        data = stream.read(block_bytes)
        if not data:
            break
        data, odd = odd + data, b""
        if len(data) % 2:
            data, odd = data[:-1], data[-1:]
        read += len(data) // 2
        if max_seconds and read > max_seconds * sample_rate:
            raise AudioTooLongError(f"the input is longer than the limit of {max_seconds:g} s "
                                    f"(raise it with --max-seconds, 0 for no limit)")
        yield np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


# -- the output timeline ------------------------------------------------------------------------------------------
def stretch_mel(mel: np.ndarray, factor: float) -> np.ndarray:
    """Speed a log-mel (n_mels, frames) up by ``factor`` (> 1: shorter) by linear interpolation along time, which
    keeps the pitch (the harmonics stay where they are in each frame)."""
    frames = max(1, round(mel.shape[-1] / factor))
    tensor = torch.as_tensor(mel, dtype=torch.float32)[None]
    return torch.nn.functional.interpolate(tensor, size=frames, mode="linear", align_corners=True)[0].numpy()


class OutputTimeline:
    """Where each English segment goes in the output: one after the other with a short pause, or (``keep_timing``)
    at its source start — silence before it, sped up by up to `MAX_STRETCH` (in the mel domain, re-vocoded) to end
    by its source segment's end, and later than its source start only if the previous one is still speaking."""

    def __init__(self, sample_rate: int, keep_timing: bool = False, vocoder=None, pause_seconds: float = 0.15):
        self.rate, self.keep_timing, self.vocoder = sample_rate, keep_timing, vocoder
        self.pause = int(pause_seconds * sample_rate)
        self.cursor = 0  # samples written so far

    def place(self, segment: StreamSegment) -> tuple[np.ndarray, int]:
        """The samples to append for ``segment`` (silence included) and where its speech starts in the output."""
        wave = segment.wave
        if not wave.size:
            return np.zeros(0, dtype=np.float32), self.cursor
        if self.keep_timing:
            start = max(self.cursor, round(segment.start * self.rate))
            slot = round(segment.end * self.rate) - start
            if wave.size > slot > 0 and self.vocoder is not None:
                factor = min(wave.size / slot, MAX_STRETCH)
                with torch.inference_mode():
                    wave = self.vocoder(torch.as_tensor(stretch_mel(segment.mel, factor))).numpy()
        else:
            start = self.cursor + (self.pause if self.cursor else 0)
        peak = float(np.abs(wave).max())
        wave = wave * (0.999 / peak) if peak > 0.999 else wave  # scaled down, never clipped
        out = np.concatenate([np.zeros(start - self.cursor, dtype=np.float32), wave.astype(np.float32)])
        self.cursor = start + wave.size
        return out, start

    def tail(self, source_seconds: float) -> np.ndarray:
        """With keep_timing, silence up to the source's length (the dub is as long as the video)."""
        end = round(source_seconds * self.rate) if self.keep_timing else self.cursor
        pad = max(0, end - self.cursor)
        self.cursor += pad
        return np.zeros(pad, dtype=np.float32)


class AudioSink:
    """A mono 16-bit audio file written block by block. ``atomic``: into a temporary file renamed on `close`
    (readers never see half a file); otherwise straight into ``path``, flushed after every write (it grows as the
    translation is produced, for a player to follow)."""

    formats = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}

    def __init__(self, path: str | os.PathLike, sample_rate: int, atomic: bool = True) -> None:
        import soundfile as sf

        self.path = Path(path)
        if self.path.suffix.lower() not in self.formats:
            raise OutputPathError(f"{self.path} must end in {', '.join(sorted(self.formats))}")
        if not self.path.parent.is_dir():
            raise OutputPathError(f"output folder {self.path.parent} does not exist")
        self.target = self.path.with_name(f".{self.path.name}.partial") if atomic else self.path
        fmt, subtype = self.formats[self.path.suffix.lower()]
        self.handle = sf.SoundFile(str(self.target), "w", sample_rate, 1, subtype, format=fmt)
        self.samples = 0

    def write(self, wave: np.ndarray) -> None:
        if wave.size:
            self.handle.write(wave.astype(np.float32))
            self.handle.flush()
            self.samples += wave.size

    def close(self, keep: bool = True) -> None:
        self.handle.close()
        if self.target != self.path:
            if keep:
                os.replace(self.target, self.path)
            else:
                self.target.unlink(missing_ok=True)


# -- subtitles and segment lists ----------------------------------------------------------------------------------
def _cues(rows: list[dict]) -> list[tuple[float, float, str]]:
    return [(r["start"], r["end"], "\n".join(t for t in (r["src_text"], r["tgt_text"]) if t))
            for r in rows if r["src_text"] or r["tgt_text"]]


def srt_text(rows: list[dict]) -> str:
    """SubRip subtitles from segment rows (`StreamSegment.row`): source and target text (two lines) at the source
    times."""
    import srt

    return srt.compose([srt.Subtitle(i + 1, datetime.timedelta(seconds=a), datetime.timedelta(seconds=b), text)
                        for i, (a, b, text) in enumerate(_cues(rows))])


def vtt_text(rows: list[dict]) -> str:
    """WebVTT subtitles, the same cues as `srt_text`."""
    import webvtt

    def stamp(seconds: float) -> str:
        millis = round(seconds * 1000)
        return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"

    document = webvtt.WebVTT()
    for a, b, text in _cues(rows):
        document.captions.append(webvtt.Caption(stamp(a), stamp(b), text))
    return document.content


def write_subtitles(rows: list[dict], path: str | os.PathLike) -> Path:
    """Subtitles of segment rows (`StreamSegment.row`): ``.srt`` or ``.vtt`` by the extension, written atomically."""
    path = Path(path)
    writers = {".srt": srt_text, ".vtt": vtt_text}
    if path.suffix.lower() not in writers:
        raise OutputPathError(f"subtitles must end in .srt or .vtt, not {path.name}")
    atomic_write_bytes(path, writers[path.suffix.lower()](rows).encode())
    return path


def write_segments_json(rows: list[dict], summary: dict, path: str | os.PathLike) -> None:
    atomic_write_bytes(path, (json.dumps({"summary": summary, "segments": rows}, indent=2, ensure_ascii=False)
                              + "\n").encode())


def latency_summary(rows: list[dict]) -> dict[str, float]:
    """Mean and 95th percentile of the latency of segments with English audio (seconds), mean compute per segment,
    from segment rows (`StreamSegment.row`)."""
    latency = np.array([r["latency"] for r in rows if r["spoken"]])
    compute = np.array([r["compute_seconds"] for r in rows])
    return {"segments": len(rows), "spoken_segments": int(latency.size),
            "latency_mean_s": float(latency.mean()) if latency.size else float("nan"),
            "latency_p95_s": float(np.percentile(latency, 95)) if latency.size else float("nan"),
            "compute_mean_s": float(compute.mean()) if compute.size else float("nan")}


def print_segment(segment: StreamSegment, file=None) -> None:
    """One line: source times, latency, source and English text."""
    print(f"[{segment.start:8.2f} - {segment.end:8.2f}] latency {segment.latency:5.2f} s | "
          f"fr: {segment.src_text} | en: {segment.tgt_text}", file=file or sys.stdout, flush=True)
