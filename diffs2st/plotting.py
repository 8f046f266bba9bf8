"""Figures people would rather look at than read: spectrogram grids.

Figures are made with matplotlib's object API (`matplotlib.figure.Figure`, drawn by the Agg canvas when saved), never
through pyplot, so plotting neither switches the caller's backend nor keeps figures alive in pyplot's registry.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .audio import MelConfig
from .audio.io import atomic_write_bytes


def subplots(rows: int = 1, columns: int = 1, figsize: tuple[float, float] | None = None, squeeze: bool = True):
    """(figure, axes) as `matplotlib.pyplot.subplots` gives them, without pyplot or a backend switch."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns, squeeze=squeeze)


def save_figure(figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write a matplotlib figure as PNG atomically (matplotlib draws PNG with Agg whatever the process's backend)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def spectrogram_grid(mels: Sequence[np.ndarray], titles: Sequence[str], path: str | os.PathLike,
                     config: MelConfig, columns: int = 4, suptitle: str | None = None) -> Path:
    """Save log-mels (each (n_mels, frames)) as a grid of images with a shared colour scale; returns the path.
    ``config`` is the MelConfig of the model that made them (it sets the time axis)."""
    mels = [np.asarray(m) for m in mels]
    columns = max(1, min(columns, len(mels)))
    rows = -(-len(mels) // columns)
    low = min(float(m.min()) for m in mels)
    high = max(float(m.max()) for m in mels)
    figure, axes = subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, mel, title in zip(axes.flat, mels, titles):
        seconds = config.frames_to_seconds(mel.shape[-1])
        image = axis.imshow(mel, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
                            extent=(0, seconds, 0, mel.shape[0]))
        axis.set_axis_on()
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("s", fontsize=8)
        axis.set_ylabel("mel bin", fontsize=8)
        axis.tick_params(labelsize=7)
    figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="log-mel")
    if suptitle:
        figure.suptitle(suptitle)
    return save_figure(figure, path)
