"""Speech enhancement: one contract ``enhancer(wave) -> wave`` at the shared sample rate, built by name from
`ENHANCERS`. Baselines today (spectral gating, DeepFilterNet3); our diffusion enhancers join the same registry."""

from .baselines import ENHANCERS, build_enhancer

__all__ = ["ENHANCERS", "build_enhancer"]
