"""Speed judge: real-time factor after warm-up, and the process's peak resident memory."""

from __future__ import annotations

import resource
import sys
import time
from typing import Callable, Sequence

import torch


def peak_rss_mib() -> float:
    """High-water mark of this process's resident memory in MiB (everything it ever held, models included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def measure_rtf(run: Callable[[object], float], inputs: Sequence[object], threads: int = 2,
                warmup: int = 1) -> dict[str, float]:
    """RTF = wall-clock seconds / seconds of output audio, over ``inputs`` after ``warmup`` untimed calls.

    ``run(item)`` does the work and returns the seconds of audio it produced.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for item in list(inputs)[:warmup]:
            run(item)
        audio_seconds, start = 0.0, time.perf_counter()
        for item in inputs:
            audio_seconds += run(item)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    return {"rtf": elapsed / max(audio_seconds, 1e-9), "wall_seconds": elapsed, "audio_seconds": audio_seconds,
            "threads": threads, "peak_rss_mib": peak_rss_mib()}
