"""Evaluation reports: JSON (everything), Markdown (the summary, with fraction of ceiling) and plots."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .audio.io import atomic_write_bytes
from .plotting import save_figure, subplots


def _flatten(summary: dict, prefix: str = "") -> dict[str, float]:
    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def markdown_table(summary: dict, ceiling: dict | None = None) -> str:
    """Rows ``metric | value`` (+ ``ceiling | fraction`` when a ceiling summary is given)."""
    flat, reference = _flatten(summary), _flatten(ceiling or {})
    header = "| metric | value |" + (" ceiling | fraction of ceiling |" if ceiling else "")
    lines = [header, "|" + " --- |" * (4 if ceiling else 2)]
    for key, value in flat.items():
        line = f"| {key} | {value:.4g} |"
        if ceiling:
            top = reference.get(key)
            fraction = value / top if top not in (None, 0) and math.isfinite(top) else float("nan")
            line += f" {top:.4g} | {fraction:.3f} |" if top is not None else " – | – |"
        lines.append(line)
    return "\n".join(lines)


def histogram_grid(rows: Sequence[dict], path: str | os.PathLike, title: str) -> Path | None:
    """Per-utterance distributions of every numeric field (one histogram each)."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float)) and not isinstance(rows[0][k], bool)
            and k not in ("snr_db", "label", "predicted")] if rows else []
    if not keys:
        return None
    columns = min(4, len(keys))
    rows_n = -(-len(keys) // columns)
    figure, axes = subplots(rows_n, columns, figsize=(3.4 * columns, 2.6 * rows_n), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, key in zip(axes.flat, keys):
        values = np.array([r[key] for r in rows if isinstance(r.get(key), (int, float))], dtype=float)
        values = values[np.isfinite(values)]
        axis.set_axis_on()
        axis.hist(values, bins=min(30, max(5, values.size // 3)), color="#4477aa")
        axis.set_title(f"{key} (mean {values.mean():.3g})" if values.size else key, fontsize=9)
        axis.tick_params(labelsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)


def mean_and_standard_error(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation / sqrt(n)); the error is nan below 2 values."""
    values = np.asarray(values, dtype=float)
    error = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")
    return float(values.mean()), error


def format_mean_error(mean: float, error: float, digits: int = 3, signed: bool = False) -> str:
    """``mean ± error`` as reports print it, e.g. ``+0.015 ± 0.005`` (``signed``) or ``0.42 ± 0.01``."""
    return f"{mean:{'+' if signed else ''}.{digits}f} ± {error:.{digits}f}"


def write_json(path: str | os.PathLike, document: dict) -> Path:
    """A report's JSON (indented, newline-terminated), written atomically."""
    atomic_write_bytes(path, (json.dumps(document, indent=2, default=str) + "\n").encode())
    return Path(path)


def write_markdown(path: str | os.PathLike, lines: Sequence[str] | str) -> Path:
    """A report's Markdown, from its text or its lines (joined by newlines, as given), written atomically."""
    atomic_write_bytes(path, (lines if isinstance(lines, str) else "\n".join(lines)).encode())
    return Path(path)


def report_heading(title: str, command: str) -> list[str]:
    """Markdown lines every report starts with: the title and the command that reproduces it."""
    return [f"# {title}", "", "Reproduce with:", "", "```bash", command, "```", ""]


def write_report(out_dir: str | os.PathLike, name: str, title: str, summary: dict, rows: list[dict], meta: dict,
                 ceiling: dict | None = None, notes: Sequence[str] = ()) -> dict[str, Path]:
    """Write ``name``.json / .md / _distributions.png into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{name}.json", "markdown": out_dir / f"{name}.md"}
    write_json(paths["json"], {**meta, "summary": summary, "ceiling": ceiling, "per_utterance": rows})
    plot = histogram_grid(rows, out_dir / f"{name}_distributions.png", title)
    lines = report_heading(title, meta["command"]) if meta.get("command") else [f"# {title}", ""]
    lines += [f"{len(rows)} utterances. " + " ".join(notes), "", markdown_table(summary, ceiling), ""]
    if plot:
        lines += [f"![per-utterance distributions]({plot.name})", ""]
        paths["plot"] = plot
    write_markdown(paths["markdown"], lines)
    return paths
