"""Audio front-end: loading, writing, log-mel features, Griffin-Lim, level and silence splitting."""

from .io import atomic_write_bytes, check_output_path, load_audio, save_audio
from .level import Segment, active_level_db, normalize_loudness, split_on_silence
from .mel import (DEFAULT_MEL, MelConfig, griffin_lim, istft, log_mel, match_mel, mel_filterbank, pad_mels, reconstruct_phase,
                  stft)

__all__ = [
    "DEFAULT_MEL", "MelConfig", "Segment", "active_level_db", "atomic_write_bytes", "check_output_path", "griffin_lim", "istft",
    "load_audio", "log_mel", "match_mel", "mel_filterbank", "normalize_loudness", "pad_mels", "reconstruct_phase", "save_audio",
    "split_on_silence", "stft",
]
