"""Audio front-end: loading, writing, log-mel features, Griffin-Lim, level and silence splitting.

The transforms of `mel` (STFT, log-mel, Griffin-Lim) need torch and are imported on first use, so reading and
writing audio or a `MelConfig` costs no torch import (`diffs2st enhance --method deepfilternet3` never loads it).
"""

from .config import DEFAULT_MEL, MelConfig
from .io import atomic_write_bytes, check_output_path, load_audio, save_audio
from .level import Segment, active_level_db, normalize_loudness, split_on_silence

_MEL_FUNCTIONS = ("griffin_lim", "istft", "log_mel", "match_mel", "mel_filterbank", "pad_mels", "reconstruct_phase",
                  "stft")


def __getattr__(name: str):
    if name in _MEL_FUNCTIONS:
        from . import mel

        return getattr(mel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MEL", "MelConfig", "Segment", "active_level_db", "atomic_write_bytes", "check_output_path", "griffin_lim",
    "istft", "load_audio", "log_mel", "match_mel", "mel_filterbank", "normalize_loudness", "pad_mels",
    "reconstruct_phase", "save_audio", "split_on_silence", "stft",
]
