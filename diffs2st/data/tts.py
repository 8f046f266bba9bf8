"""Real speech synthesizers from Debian packages: espeak-ng (any of its languages), flite and festival (English).

Both return mono float32 at the requested rate. These are the raw voices; speaker transforms live elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio.io import load_audio
from ..audio.mel import DEFAULT_MEL
from ..errors import Diffs2stError

FLITE_VOICES = ("slt", "awb", "rms", "kal16")
FESTIVAL_VOICES = {"kd": ("ked_diphone", "festvox-kdlpc16k")}  # our name -> (festival voice, Debian package)


class SynthesizerError(Diffs2stError):
    """A speech synthesizer is missing or failed."""


def _require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise SynthesizerError(f"{program} is not installed (apt-get install {package}; `make` does it for you)")
    return path


SYNTHESIS_TIMEOUT_SECONDS = 120


def _run_to_wave(command: list[str], out_path: Path, sample_rate: int, what: str) -> np.ndarray:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=SYNTHESIS_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise SynthesizerError(f"{what} took longer than {SYNTHESIS_TIMEOUT_SECONDS} s (machine overloaded or "
                               "suspended?); corpus builds resume where they stopped") from None
    if result.returncode != 0 or not out_path.exists() or out_path.stat().st_size == 0:
        raise SynthesizerError(f"{what} failed: {(result.stderr or 'no output').strip().splitlines()[-1:]}")
    return load_audio(out_path, sample_rate, min_seconds=0.0, max_seconds=None)


def _check_voice(voice: str, known, family: str) -> None:
    if voice not in known:
        raise SynthesizerError(f"unknown {family} voice {voice!r} (known: {', '.join(known)})")


def _speak(text: str, command_for: Callable[[Path, Path], list[str]], sample_rate: int, what: str) -> np.ndarray:
    """Write ``text`` to a temporary file, run ``command_for(text_file, out_wav)`` and read the wave it wrote."""
    if not text.strip():
        raise SynthesizerError("cannot synthesize empty text")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        return _run_to_wave(command_for(text_file, out), out, sample_rate, what)


def espeak(text: str, voice: str = "fr", variant: str | None = None, words_per_minute: int = 150,
           pitch: int = 50, sample_rate: int = DEFAULT_MEL.sample_rate) -> np.ndarray:
    """Speak ``text`` with espeak-ng voice ``voice`` (e.g. ``fr``) and optional variant (e.g. ``f3``, ``m2``)."""
    program = _require("espeak-ng", "espeak-ng")
    name = f"{voice}+{variant}" if variant else voice
    return _speak(text, lambda text_file, out: [program, "-v", name, "-s", str(words_per_minute), "-p", str(pitch),
                                                "-w", str(out), "-f", str(text_file)],
                  sample_rate, f"espeak-ng -v {name}")


def flite(text: str, voice: str = "slt", duration_stretch: float = 1.0,
          sample_rate: int = DEFAULT_MEL.sample_rate) -> np.ndarray:
    """Speak English ``text`` with a flite voice (one of `FLITE_VOICES`); ``duration_stretch`` > 1 is slower."""
    program = _require("flite", "flite")
    _check_voice(voice, FLITE_VOICES, "flite")
    return _speak(text, lambda text_file, out: [program, "-voice", voice, "--setf",
                                                f"duration_stretch={duration_stretch:.4f}", "-f", str(text_file),
                                                "-o", str(out)],
                  sample_rate, f"flite -voice {voice}")


def festival(text: str, voice: str = "kd", duration_stretch: float = 1.0,
             sample_rate: int = DEFAULT_MEL.sample_rate) -> np.ndarray:
    """Speak English ``text`` with a festival voice (one of `FESTIVAL_VOICES`) through ``text2wave``."""
    program = _require("text2wave", "festival")
    _check_voice(voice, FESTIVAL_VOICES, "festival")
    name, package = FESTIVAL_VOICES[voice]
    if not Path("/usr/share/festival/voices/english", name).is_dir():
        raise SynthesizerError(f"festival voice {name} is not installed (apt-get install {package}; `make` does it)")
    return _speak(text, lambda text_file, out: [program, "-o", str(out), "-eval", f"(voice_{name})", "-eval",
                                                f"(Parameter.set 'Duration_Stretch {duration_stretch:.4f})",
                                                str(text_file)],
                  sample_rate, f"festival voice {name}")
