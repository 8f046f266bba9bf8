"""What the web app's buttons do, without any web framework: the same library calls as `diffs2st translate`,
`diffs2st enhance` and `diffs2st generate digits`, on models loaded once (each on first use) and shared by every
request, one request per model at a time, at most ``concurrency`` at once, each within ``time_limit_s``.

    service = AppService(AppLimits(), model_dir=pretrained_dir())
    out = service.translate("french.wav", steps=4, voice_guidance=1.0)   # TranslateOutput (wave, texts, timings, ...)

Every user mistake (not audio, empty, silent, too long, an option out of range, too slow) is a `Diffs2stError` with
a one-line message naming the upload by the name the user gave it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..audio import DEFAULT_MEL, MelConfig, load_audio, log_mel
from ..errors import ConfigError, Diffs2stError
from ..pretrained import bundled, default_vocoder, pretrained_dir

ENHANCE_METHODS = ("score-conditional", "deepfilternet3", "spectral-gating")
DIGIT_SAMPLERS = ("ddim", "ddpm")  # the digit model's DDPM process; the SDE samplers belong to other processes
MAX_DIGIT_CLIPS = 8
STEP_RANGE = {"translate": (1, 32), "enhance": (1, 32), "digits": (1, 300)}


class RequestTimeoutError(Diffs2stError):
    """A request that did not finish within the app's time limit."""


@dataclass(frozen=True)
class AppLimits:
    """What one request may ask of the server. Audio longer than a tab's limit and uploads larger than
    ``max_upload_mb`` are refused with a message that states the limit."""

    translate_max_seconds: float = 60.0
    enhance_max_seconds: float = 60.0
    max_upload_mb: float = 20.0
    time_limit_s: float = 120.0  # wall time of one request, queue wait inside the app's worker pool included
    concurrency: int = 1  # requests computed at once, all tabs together
    queue_size: int = 32  # requests waiting beyond that; more are refused ("queue full")

    def __post_init__(self) -> None:
        for name in ("translate_max_seconds", "enhance_max_seconds", "max_upload_mb", "time_limit_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.concurrency < 1 or self.queue_size < 1:
            raise ConfigError("concurrency and queue_size must be at least 1")


@dataclass
class TranslateOutput:
    wave: np.ndarray  # (samples,) English speech at ``sample_rate``
    sample_rate: int
    src_text: str
    tgt_text: str
    timings: dict[str, float]  # seconds per stage and "total"
    source_mel: np.ndarray  # (n_mels, frames) of the input
    mel: np.ndarray  # (n_mels, frames) of the output
    input_seconds: float


@dataclass
class EnhanceOutput:
    wave: np.ndarray
    sample_rate: int
    noisy_mel: np.ndarray
    mel: np.ndarray
    seconds: float  # compute time


@dataclass
class DigitsOutput:
    waves: list[np.ndarray]
    sample_rate: int
    mels: list[np.ndarray]
    digits: list[int]
    seconds: float


@dataclass
class _Slot:
    """One lazily loaded model and the lock that serializes its use."""

    load: Callable[[], object]
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: object = None


def check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")


def read_upload(path: str | os.PathLike | None, what: str, sample_rate: int, max_seconds: float,
                display_name: str | None = None) -> np.ndarray:
    """An uploaded or recorded clip as mono float32 at ``sample_rate`` (any format, rate and channel count
    `load_audio` reads); messages name the file as the user knows it, not the server's temporary path."""
    if path is None:
        raise ConfigError(f"no {what}: record one or upload an audio file")
    name = display_name or Path(path).name
    try:
        return load_audio(path, sample_rate, max_seconds=max_seconds)
    except Diffs2stError as error:
        message = str(error).replace(str(path), name)
        message = message.split(" (raise it with")[0]  # the CLI's advice; the server's limit is stated instead
        raise type(error)(f"{what}: {message}") from None


class AppService:
    """The shared models and the bounded worker pool behind the app's three tabs."""

    def __init__(self, limits: AppLimits = AppLimits(), model_dir: str | os.PathLike | None = None,
                 digit_model: str | os.PathLike | None = None, vocoder: str | None = None) -> None:
        self.limits, self.model_dir = limits, Path(model_dir or pretrained_dir())
        digit_model = digit_model or bundled("digits")
        self.mel = DEFAULT_MEL  # until the translator (whose MelConfig it becomes) is loaded
        self._pool = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="diffs2st-app")
        self._slots: dict[str, _Slot] = {
            "translator": _Slot(lambda: self._load_translator(vocoder)),
            "digits": _Slot(lambda: self._load_digits(digit_model, vocoder)),
            **{f"enhance:{method}": _Slot(lambda m=method: self._load_enhancer(m)) for method in ENHANCE_METHODS},
        }

    # -- models --------------------------------------------------------------------------------------------------
    def _load_translator(self, vocoder: str | None):
        from ..s2st.translator import Translator

        translator = Translator.from_pretrained(self.model_dir, vocoder=vocoder)
        self.mel = translator.mel
        return translator

    @staticmethod
    def _load_digits(directory, vocoder: str | None):
        from ..checkpoint import load_model
        from ..digits import DigitDiffusion
        from ..vocoders import load_vocoder

        model = load_model(directory, DigitDiffusion, "digit model")
        return model, load_vocoder(vocoder or default_vocoder(), mel=model.config.mel)

    def _load_enhancer(self, method: str):
        from ..enhancement import build_enhancer

        return build_enhancer(method, self.mel)

    def _use(self, key: str, work: Callable):
        """Run ``work(model)`` in the worker pool with the model's lock held; the wait counts against the time
        limit. A request past the limit gets `RequestTimeoutError`; its computation finishes in the background
        (PyTorch cannot be interrupted) and keeps its worker until then, so the pool stays bounded."""
        slot = self._slots[key]

        def job():
            with slot.lock:
                if slot.value is None:
                    slot.value = slot.load()
                return work(slot.value)

        future = self._pool.submit(job)
        try:
            return future.result(timeout=self.limits.time_limit_s)
        except FutureTimeout:
            raise RequestTimeoutError(f"the request took longer than the server's limit of "
                                      f"{self.limits.time_limit_s:g} s; try a shorter clip or fewer steps") from None

    def warm_up(self, example: str | os.PathLike | None = None) -> None:
        """Load the translator before the first request and, given an ``example`` clip, translate it and draw its
        spectrograms once, so the first user does not wait for PyTorch's and matplotlib's first calls."""
        self._use("translator", lambda model: None)
        if example is not None:
            out = self.translate(example)
            render_spectrograms([out.source_mel, out.mel], ["source", "output"], self.mel)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- requests ------------------------------------------------------------------------------------------------
    def translate(self, audio: str | os.PathLike | None, voice: str | os.PathLike | None = None, steps: int = 4,
                  voice_guidance: float = 1.0, seed: int = 0, audio_name: str | None = None,
                  voice_name: str | None = None) -> TranslateOutput:
        """French speech file -> English speech in the same voice (or ``voice``'s), texts, timings, log-mels."""
        check_range("steps", steps, *STEP_RANGE["translate"])
        check_range("voice guidance", voice_guidance, 0.0, 10.0)
        limit = self.limits.translate_max_seconds
        rate = self.mel.sample_rate
        wave = read_upload(audio, "French speech", rate, limit, audio_name)
        reference = None if voice is None else read_upload(voice, "voice reference", rate, limit, voice_name)

        def work(translator):
            result = translator.translate(wave, voice=reference, steps=int(steps),
                                          voice_guidance=float(voice_guidance), seed=int(seed))
            source_mel = log_mel(torch.from_numpy(wave), translator.mel).numpy()
            return TranslateOutput(result.wave, translator.mel.sample_rate, result.src_text, result.tgt_text,
                                   result.timings, source_mel, result.mel, wave.size / rate)

        return self._use("translator", work)

    def enhance(self, audio: str | os.PathLike | None, method: str = "score-conditional",
                audio_name: str | None = None) -> EnhanceOutput:
        """Noisy speech file -> enhanced speech with ``method`` (one of `ENHANCE_METHODS`)."""
        if method not in ENHANCE_METHODS:
            raise ConfigError(f"unknown method {method!r} (known: {', '.join(ENHANCE_METHODS)})")
        wave = read_upload(audio, "noisy speech", self.mel.sample_rate, self.limits.enhance_max_seconds, audio_name)

        def work(enhancer):
            start = time.perf_counter()
            with torch.inference_mode():
                enhanced = np.asarray(enhancer(wave), dtype=np.float32)
            seconds = time.perf_counter() - start
            mels = log_mel(torch.from_numpy(np.stack([wave, _fit(enhanced, wave.size)])), self.mel).numpy()
            return EnhanceOutput(enhanced, self.mel.sample_rate, mels[0], mels[1], seconds)

        return self._use(f"enhance:{method}", work)

    def digits(self, digit: int | None, count: int = 4, sampler: str = "ddim", steps: int = 25,
               guidance: float = 2.0, seed: int = 0) -> DigitsOutput:
        """``count`` spoken digits (``digit`` None: cycle 0-9) from the class-conditional DDPM, vocoded."""
        if sampler not in DIGIT_SAMPLERS:
            raise ConfigError(f"unknown sampler {sampler!r} (known: {', '.join(DIGIT_SAMPLERS)})")
        check_range("count", count, 1, MAX_DIGIT_CLIPS)
        check_range("steps", steps, *STEP_RANGE["digits"])
        check_range("guidance", guidance, 0.0, 10.0)
        if digit is not None:
            check_range("digit", digit, 0, 9)
        digits = [int(digit)] * int(count) if digit is not None else [i % 10 for i in range(int(count))]

        def work(parts):
            model, vocoder = parts
            start = time.perf_counter()
            mels = model.generate(digits, sampler=sampler, steps=int(steps), guidance=float(guidance),
                                  seed=int(seed))
            with torch.inference_mode():
                waves = [vocoder(mel).numpy() for mel in mels]
            return DigitsOutput(waves, model.config.mel.sample_rate, [m.numpy() for m in mels], digits,
                                time.perf_counter() - start)

        return self._use("digits", work)


def _fit(wave: np.ndarray, samples: int) -> np.ndarray:
    """``wave`` cut or zero-padded to ``samples`` (enhancers return the input's length; this is a guard)."""
    return wave[:samples] if wave.size >= samples else np.pad(wave, (0, samples - wave.size))


def render_spectrograms(mels: Sequence[np.ndarray], titles: Sequence[str], config: MelConfig, columns: int = 2,
                        suptitle: str | None = None):
    """Log-mels as one image (`plotting.spectrogram_grid`, shared colour scale) -> a PIL image."""
    from PIL import Image

    from ..plotting import spectrogram_grid

    with _PLOT_LOCK, tempfile.TemporaryDirectory(prefix="diffs2st-app-") as folder:
        path = spectrogram_grid(list(mels), list(titles), Path(folder) / "grid.png", config, columns=columns,
                                suptitle=suptitle)
        with Image.open(path) as image:
            return image.convert("RGB")


_PLOT_LOCK = threading.Lock()  # pyplot's figure manager is not thread-safe
