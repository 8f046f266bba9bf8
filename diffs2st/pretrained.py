"""Where the bundled checkpoints live, and which vocoder is the default.

The folder is ``$DIFFS2ST_PRETRAINED`` when that is set (read at every call, so it can change within a process),
otherwise ``pretrained/`` beside the package: the repository root of a source checkout or an editable install. A
regular ``pip install`` carries the code but not the checkpoints: point DIFFS2ST_PRETRAINED at a copy of the
folder, or name each model with the commands' ``--model`` options.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError

ENVIRONMENT_VARIABLE = "DIFFS2ST_PRETRAINED"


def pretrained_dir() -> Path:
    """The folder of bundled checkpoints: $DIFFS2ST_PRETRAINED, else the repository's pretrained/."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(configured).expanduser() if configured else Path(__file__).resolve().parents[1] / "pretrained"


def bundled(name: str) -> Path:
    """Path of the bundled checkpoint ``name`` (it may not exist; `require_bundled` checks)."""
    return pretrained_dir() / name


def require_bundled(name: str) -> Path:
    """Path of the bundled checkpoint ``name``; a one-line error saying how to point at it when it is not there."""
    path = bundled(name)
    if not (path / "model.safetensors").is_file():
        configured = os.environ.get(ENVIRONMENT_VARIABLE)
        where = f"{ENVIRONMENT_VARIABLE}={configured}" if configured else f"{ENVIRONMENT_VARIABLE} is not set"
        raise CheckpointError(f"no bundled model {name!r} at {path} ({where}): set {ENVIRONMENT_VARIABLE} to the "
                              "folder that holds the bundled checkpoints (pretrained/ of the repository), or name a "
                              "checkpoint with --model")
    return path


def model_or_bundled(model: str | os.PathLike | None, name: str) -> Path:
    """``model`` when one is named (a --model option), else the bundled checkpoint ``name`` (checked)."""
    return Path(model) if model else require_bundled(name)


def default_vocoder() -> str:
    """The bundled neural vocoder when it is there, otherwise Griffin-Lim (the no-training fallback)."""
    path = bundled("vocoder")
    return str(path) if (path / "model.safetensors").is_file() else "griffin-lim"
