"""Content digests: what caches and reused reports are keyed by (the bytes, never the paths that name them)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .checkpoint import CONFIG_FILE, WEIGHTS_FILE
from .errors import CheckpointError


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_sha256(directory: str | os.PathLike) -> dict[str, str]:
    """{file name: SHA-256} of the files that rebuild a checkpoint's model (its config and its weights)."""
    directory = Path(directory)
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"{directory} is not a checkpoint: {missing[0]} is missing")
    return {name: file_sha256(directory / name) for name in (CONFIG_FILE, WEIGHTS_FILE)}
