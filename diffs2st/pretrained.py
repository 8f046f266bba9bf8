"""Where the bundled checkpoints live (``pretrained/`` at the repository root) and which vocoder is the default.

The CLI defaults resolve against this folder, not the working directory, so `diffs2st transcribe x.wav` works from
anywhere in an editable install.
"""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
ST_MODEL = PRETRAINED_DIR / "st"
DIGIT_MODEL = PRETRAINED_DIR / "digits"
DIGIT_CLASSIFIER = PRETRAINED_DIR / "digit-classifier"
VOCODER = PRETRAINED_DIR / "vocoder"
SPEAKER_ENCODER = PRETRAINED_DIR / "speaker-encoder"


def default_vocoder() -> str:
    """The bundled neural vocoder when it is there, otherwise Griffin-Lim (the no-training fallback)."""
    return str(VOCODER) if (VOCODER / "model.safetensors").is_file() else "griffin-lim"
ENHANCE_CONDITIONAL = PRETRAINED_DIR / "enhance-conditional"
ENHANCE_PRIOR = PRETRAINED_DIR / "enhance-prior"
ENHANCE_CLASSIFIER = PRETRAINED_DIR / "enhance-classifier"
