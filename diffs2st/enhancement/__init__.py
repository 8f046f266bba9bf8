"""Speech enhancement: one contract ``enhancer(wave) -> wave`` at the shared sample rate, built by name from
`ENHANCERS`: the baselines (spectral gating, DeepFilterNet3) and our score enhancers ("score-conditional",
"score-prior", `score_enhancers.py`, imported with torch only when one of them is asked for)."""

from .baselines import ENHANCERS, build_enhancer

__all__ = ["ENHANCERS", "build_enhancer"]
