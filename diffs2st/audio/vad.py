"""Voice activity detection for streaming and long-form input: frame-level detectors in `VADS` and one
`Segmenter` that turns their decisions into speech segments.

A detector is ``vad(frames) -> probabilities of speech``: (n, ``vad.frame_samples``) consecutive frames in, (n,) out,
called in stream order (detectors keep state between calls; ``reset()`` forgets it):

    silero   Silero VAD v6, the ONNX model shipped inside the ``silero-vad`` wheel, run with onnxruntime
             (512-sample frames at 16 kHz; a probability). Nothing is downloaded; torch and torchaudio are not used.
    webrtc   the WebRTC VAD (``webrtcvad``; 30 ms frames; a 0/1 decision), aggressiveness 3.
    energy   frame energy above both the loudest frame heard so far - 40 dB and -50 dBFS (0/1): the streaming
             counterpart of `split_on_silence`, no model.

`Segmenter` is a state machine over those decisions (onset/offset hysteresis as in Silero's own
``get_speech_timestamps``): speech starts at a frame at or above ``onset``, ends after ``min_silence_seconds``
below ``offset``, is padded by ``pad_seconds`` on both sides, and is cut at its least speech-like frame when it
would exceed ``max_segment_seconds`` (the two pieces touch: no sample is lost). Bursts with less than
``min_speech_seconds`` of speech are treated as non-speech. Its decisions depend only on the samples, never on
how they were chunked, and it holds at most one segment of audio.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AudioError, ConfigError
from ..registry import Registry

VADS: Registry[type] = Registry("voice activity detector")


@VADS.register("silero")
class SileroVAD:
    """Silero VAD (MIT licence) from the ONNX files in the ``silero-vad`` wheel: the "sequence" export, which runs
    a block of frames in one call and gives the same probabilities as the frame-by-frame model (~0.3 ms per 32 ms
    frame on one core, measured, against ~1.3 ms frame by frame). The wheel's Python package is not imported:
    importing it sets torch's thread count for the whole process."""

    onset, offset = 0.5, 0.35  # Silero's defaults: threshold 0.5, negative threshold 0.5 - 0.15
    frame_samples, context_samples, native_rate = 512, 64, 16000  # what the 16 kHz sequence export reads

    def __init__(self, sample_rate: int) -> None:
        import onnxruntime

        if sample_rate != self.native_rate:
            raise ConfigError(f"the silero VAD runs at {self.native_rate} Hz, not {sample_rate}")
        self.sample_rate = sample_rate
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # this session's pool, not the process
        self.session = onnxruntime.InferenceSession(str(silero_model_path("silero_vad_16k_sequence.onnx")),
                                                    sess_options=options, providers=["CPUExecutionProvider"])
        self.reset()

    def reset(self) -> None:
        self.hidden = np.zeros((1, 1, 128), dtype=np.float32)
        self.cell = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(self.context_samples, dtype=np.float32)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(n, frame_samples) consecutive frames -> (n,) speech probabilities; each frame is read with the last
        ``context_samples`` of the one before it, as the model was trained."""
        frames = np.asarray(frames, dtype=np.float32)
        contexts = np.concatenate([self.context[None], frames[:-1, -self.context_samples:]])
        probabilities, self.hidden, self.cell = self.session.run(
            ["speech_probs", "hn", "cn"],
            {"input": np.concatenate([contexts, frames], axis=1), "h": self.hidden, "c": self.cell})
        self.context = frames[-1, -self.context_samples:].copy()
        return np.asarray(probabilities, dtype=np.float32).reshape(-1)


def silero_model_path(name: str) -> Path:
    """A model file inside the installed ``silero-vad`` wheel (found without importing the package)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the silero VAD needs the silero-vad wheel: pip install 'diffs2st[stream]'")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if not path.is_file():
        raise ConfigError(f"the silero-vad wheel has no model at {path}")
    return path


@VADS.register("webrtc")
class WebRTCVAD:
    """The WebRTC VAD (Google's GMM detector) through ``webrtcvad``: one 0/1 decision per 30 ms frame."""

    onset = offset = 0.5
    aggressiveness = 3  # 0-3; 3 flags the least non-speech as speech

    def __init__(self, sample_rate: int) -> None:
        import webrtcvad

        if sample_rate not in (8000, 16000, 32000, 48000):
            raise ConfigError(f"the webrtc VAD runs at 8, 16, 32 or 48 kHz, not {sample_rate} Hz")
        self.sample_rate, self.frame_samples = sample_rate, 30 * sample_rate // 1000
        self.vad = webrtcvad.Vad(self.aggressiveness)

    def reset(self) -> None:
        pass  # its noise estimate adapts within a few frames

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        pcm = (np.clip(np.asarray(frames, dtype=np.float32), -1, 1) * 32767).astype("<i2")
        return np.array([self.vad.is_speech(row.tobytes(), self.sample_rate) for row in pcm], dtype=np.float32)


@VADS.register("energy")
class EnergyVAD:
    """Energy against the loudest frame so far (the streaming form of `split_on_silence`'s rule) and a floor."""

    onset = offset = 0.5
    relative_db, floor_db, frame_seconds = -40.0, -50.0, 0.02

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate, self.frame_samples = sample_rate, int(self.frame_seconds * sample_rate)
        self.reset()

    def reset(self) -> None:
        self.loudest = -np.inf

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        energy = 10 * np.log10(np.mean(np.asarray(frames, dtype=np.float64) ** 2, axis=1) + 1e-12)
        loudest = np.maximum.accumulate(np.maximum(energy, self.loudest))
        self.loudest = float(loudest[-1])
        return (energy > np.maximum(loudest + self.relative_db, self.floor_db)).astype(np.float32)


def build_vad(name: str, sample_rate: int):
    return VADS.get(name)(sample_rate)


@dataclass(frozen=True)
class SpeechSegment:
    """Samples ``[start, end)`` of the stream (padding included) and their audio; ``speech_end`` is the sample after
    the last frame judged speech, ``decided`` the number of samples heard when the segment was closed. A segment
    with ``final`` False is a guess (`Segmenter` ``speculate_seconds``): the segment as it will be if the silence
    that has begun lasts; the final one follows, with the same bounds or (speech went on) others."""

    start: int
    end: int
    speech_end: int
    decided: int
    wave: np.ndarray
    final: bool = True


class Segmenter:
    """Streaming speech segmentation: ``push(samples)`` returns the segments finished by them, ``flush()`` the last
    one. Segments are ordered, never overlap, and hold every sample judged speech (plus padding).

    With ``speculate_seconds``, ``push`` also returns a guess (``final`` False) once a silence has lasted that long
    (at least the padding): a caller can start work on it and keep the result if the final segment has the same
    bounds, which saves the rest of ``min_silence_seconds`` of latency. With ``trim_lead_db``, a segment that starts
    from silence begins at its first sample within that many dB of its peak (its quiet lead-in is left out)."""

    def __init__(self, vad, max_segment_seconds: float = 12.0, min_silence_seconds: float = 0.25,
                 min_speech_seconds: float = 0.2, pad_seconds: float = 0.1,
                 speculate_seconds: float | None = None, trim_lead_db: float | None = None) -> None:
        self.vad, frame, rate = vad, vad.frame_samples, vad.sample_rate
        if not pad_seconds < min_silence_seconds:
            raise ConfigError("pad_seconds must be shorter than min_silence_seconds (the padding is silence)")
        self.pad = int(pad_seconds * rate)
        self.min_silence = max(1, round(min_silence_seconds * rate / frame))
        self.min_speech = max(1, round(min_speech_seconds * rate / frame))
        self.max_frames = int(max_segment_seconds * rate) // frame
        self.lead_floor = None if trim_lead_db is None else 10 ** (trim_lead_db / 20)
        self.speculate = None if speculate_seconds is None else max(  # the padding must have been heard
            round(speculate_seconds * rate / frame), -(-self.pad // frame) + 1)
        if self.max_frames < 2 * self.min_silence:
            raise ConfigError(f"max_segment_seconds {max_segment_seconds:g} is too short for this VAD")
        self.vad.reset()
        self.buffer, self.buffer_start = np.zeros(0, dtype=np.float32), 0  # audio from sample buffer_start on
        self.pending = np.zeros(0, dtype=np.float32)  # samples not yet making up a whole frame
        self.frames = 0  # frames decided so far
        self.last_end = 0  # end of the previous segment: the next one starts at or after it
        self.start_frame: int | None = None  # first frame of the open segment (None: in silence)
        self.start_sample = 0  # its first sample, padding included
        self.last_speech = 0  # last frame at or above offset in the open segment
        self.speech_frames = 0  # frames at or above onset in the open segment
        self.continued = False  # the open segment continues one cut at the maximum length (never a blip)
        self.probabilities: list[float] = []  # per frame of the open segment, for cuts at the maximum length

    def push(self, samples: np.ndarray) -> list[SpeechSegment]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size and not np.isfinite(samples).all():
            raise AudioError("the audio contains NaN or infinite samples")
        self.buffer = np.concatenate([self.buffer, samples])
        self.pending = np.concatenate([self.pending, samples])
        frame, finished = self.vad.frame_samples, []
        whole = self.pending.size // frame
        if whole:
            for probability in self.vad(self.pending[:whole * frame].reshape(whole, frame)):
                segment = self._step(float(probability))
                if segment is not None:
                    finished.append(segment)
            self.pending = self.pending[whole * frame:]
        self._trim()
        return finished

    def flush(self) -> list[SpeechSegment]:
        """Close the open segment at the end of the stream (the unfinished last frame is part of it)."""
        heard = self.frames * self.vad.frame_samples + self.pending.size
        if self.start_frame is None or (self.speech_frames < self.min_speech and not self.continued):
            self.start_frame = None
            return []
        end = heard if self.last_speech == self.frames - 1 else min(self._padded_end(), heard)
        return [self._emit(end, heard)]

    # -- the state machine, one frame at a time --------------------------------------------------------------------
    def _step(self, probability: float) -> SpeechSegment | None:
        index, frame = self.frames, self.vad.frame_samples
        self.frames += 1
        if self.start_frame is None:
            if probability < self.vad.onset:
                return None
            self.start_frame, self.last_speech, self.speech_frames, self.continued = index, index, 0, False
            self.start_sample = max(self.last_end, index * frame - self.pad)
            self.probabilities = []
        self.probabilities.append(probability)
        if probability >= self.vad.offset:
            self.last_speech = index
        self.speech_frames += probability >= self.vad.onset
        heard = self.frames * frame
        if index - self.last_speech >= self.min_silence:  # enough silence: the segment is over
            if self.speech_frames < self.min_speech and not self.continued:  # a blip, not speech
                self.start_frame = None
                return None
            return self._emit(self._padded_end(), heard)
        if heard - self.start_sample >= self.max_frames * frame:  # too long: cut at the least speech-like frame
            return self._cut(heard)
        if index - self.last_speech == self.speculate and self.speculate < self.min_silence and (
                self.speech_frames >= self.min_speech or self.continued):  # a silence has begun: a guess
            end = self._padded_end()
            start, wave = self._take(end)
            return SpeechSegment(start, end, (self.last_speech + 1) * frame, heard, wave, final=False)
        return None

    def _padded_end(self) -> int:
        return (self.last_speech + 1) * self.vad.frame_samples + self.pad

    def _cut(self, heard: int) -> SpeechSegment:
        """End the open segment at its least speech-like frame of the second half; the rest opens the next one."""
        frame = self.vad.frame_samples
        probabilities = np.asarray(self.probabilities)
        half = probabilities.size // 2
        offset = half + int(np.flatnonzero(probabilities[half:] == probabilities[half:].min())[-1])
        cut_frame = self.start_frame + max(offset, 1)
        cut = max(cut_frame * frame, self.start_sample + frame)
        speech_before = int(np.sum(probabilities[:cut_frame - self.start_frame] >= self.vad.onset))
        segment = self._emit(cut, heard, force=True)
        self.probabilities = self.probabilities[cut_frame - self.start_frame:]
        self.start_frame, self.start_sample = cut_frame, cut
        self.last_speech = max(self.last_speech, cut_frame)
        self.speech_frames -= speech_before
        self.continued = True
        return segment

    def _take(self, end: int) -> tuple[int, np.ndarray]:
        """The open segment's first sample and audio up to ``end`` (its quiet lead-in trimmed, see trim_lead_db)."""
        start = self.start_sample
        wave = self.buffer[start - self.buffer_start:end - self.buffer_start]
        if self.lead_floor is not None and not self.continued and wave.size:
            loud = np.flatnonzero(np.abs(wave) > self.lead_floor * np.abs(wave).max())
            start, wave = start + int(loud[0]), wave[int(loud[0]):]
        return start, wave.copy()

    def _emit(self, end: int, heard: int, force: bool = False) -> SpeechSegment:
        start, wave = self._take(end)
        speech_end = min(end, (self.last_speech + 1) * self.vad.frame_samples)
        self.last_end = end
        if not force:
            self.start_frame = None
        return SpeechSegment(start, end, speech_end, heard, wave)

    def _trim(self) -> None:
        """Drop audio no future segment can include (before the open segment, or older than the padding)."""
        heard = self.frames * self.vad.frame_samples
        keep = self.start_sample if self.start_frame is not None else max(self.last_end, heard - self.pad)
        if keep > self.buffer_start:
            self.buffer = self.buffer[keep - self.buffer_start:]
            self.buffer_start = keep


def segment_wave(wave: np.ndarray, vad: str | object, sample_rate: int, chunk_samples: int = 1600,
                 **options) -> list[SpeechSegment]:
    """All speech segments of an in-memory wave, fed in chunks of ``chunk_samples`` (any size gives the same)."""
    detector = build_vad(vad, sample_rate) if isinstance(vad, str) else vad
    segmenter = Segmenter(detector, **options)
    segments = []
    for start in range(0, len(wave), chunk_samples):
        segments += segmenter.push(wave[start:start + chunk_samples])
    return [s for s in segments + segmenter.flush() if s.final]
