"""Reading and writing audio: any format libsndfile knows (WAV/FLAC/OGG/MP3), any rate, any channel count."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError, AudioTooLongError, OutputPathError

AudioSource = Union[str, os.PathLike, bytes, np.ndarray]

DEFAULT_MAX_SECONDS = 300.0
DEFAULT_MIN_SECONDS = 0.1
SILENCE_PEAK = 1e-4  # a peak below this (-80 dBFS) is treated as silence


def _describe(source: AudioSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return "audio bytes" if isinstance(source, bytes) else "audio array"


def _decode(source: AudioSource, source_rate: int | None) -> tuple[np.ndarray, int]:
    """Decode to float32 (samples, channels) and its sample rate."""
    name = _describe(source)
    if isinstance(source, np.ndarray):
        if source_rate is None:
            raise AudioError("an audio array needs its sample rate (source_rate=...)")
        data = np.asarray(source, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        elif data.ndim != 2:
            raise AudioError(f"an audio array must be (samples,) or (samples, channels), got shape {data.shape}")
        return data, int(source_rate)
    if isinstance(source, bytes):
        if not source:
            raise AudioError("audio bytes are empty")
        handle: object = io.BytesIO(source)
    else:
        path = Path(source)
        if not path.exists():
            raise AudioError(f"no such file: {path}")
        if path.is_dir():
            raise AudioError(f"{path} is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(f"{path} is empty (0 bytes)")
        handle = str(path)
    try:
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"cannot decode {name} as audio ({detail})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{name} holds no audio samples")
    return data, int(rate)


def load_audio(source: AudioSource, sample_rate: int, *, source_rate: int | None = None,
               min_seconds: float = DEFAULT_MIN_SECONDS, max_seconds: float | None = DEFAULT_MAX_SECONDS,
               ) -> np.ndarray:
    """Load audio as mono float32 at ``sample_rate``: shape (samples,).

    Channels are averaged, the rate is converted with soxr (VHQ). Raises `AudioError` for unreadable, empty,
    non-finite, silent or too-short input and `AudioTooLongError` above ``max_seconds`` (``None`` or 0: no limit).
    """
    name = _describe(source)
    data, rate = _decode(source, source_rate)
    if not np.isfinite(data).all():
        raise AudioError(f"{name} contains NaN or infinite samples")
    duration = data.shape[0] / rate
    if max_seconds and duration > max_seconds:
        raise AudioTooLongError(
            f"{name} is {duration:.1f} s long, over the limit of {max_seconds:g} s "
            f"(raise it with --max-seconds, 0 for no limit, or split it first with `diffs2st split`)")
    if duration < min_seconds:
        raise AudioError(f"{name} is {duration:.3f} s long; at least {min_seconds:g} s is needed")
    mono = data.mean(axis=1)
    if np.abs(mono).max() < SILENCE_PEAK:
        raise AudioError(f"{name} is silent (peak below {SILENCE_PEAK:g})")
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="VHQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_output_path(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path if its folder exists, else raise `OutputPathError`."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"output folder {parent} does not exist (for {path})")
    return path


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename: readers never see half a file."""
    path = check_output_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def save_audio(path: str | os.PathLike, wave: np.ndarray, sample_rate: int) -> Path:
    """Write mono audio atomically; the format follows the extension (.wav, .flac, .ogg).

    Samples beyond [-1, 1] are scaled down (never clipped) so nothing is lost.
    """
    path = check_output_path(path)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise OutputPathError(f"cannot write {path}: use one of {', '.join(sorted(_FORMATS))}")
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    if not np.isfinite(wave).all():
        raise AudioError(f"refusing to write {path}: the audio contains NaN or infinite samples")
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > 0.999:
        wave = wave * (0.999 / peak)
    fmt, subtype = _FORMATS[suffix]
    buffer = io.BytesIO()
    sf.write(buffer, wave, sample_rate, format=fmt, subtype=subtype)
    atomic_write_bytes(path, buffer.getvalue())
    return path
