"""Vocoders: log-mel -> waveform with one contract, ``vocoder(mel) -> wave`` (see `diffs2st.vocoders.base`).

Families: Griffin-Lim (no training), HiFi-GAN (`hifigan`), a fast Vocos-style iSTFT vocoder (`istft`); training
pieces in `discriminators`, `losses` and the "vocoder" training task (`task`).
"""

from .base import VOCODERS, GriffinLimVocoder, Vocoder, load_vocoder, num_samples
from .hifigan import HiFiGAN, HiFiGANConfig
from .istft import ISTFTVocoder, ISTFTVocoderConfig

__all__ = ["VOCODERS", "GriffinLimVocoder", "HiFiGAN", "HiFiGANConfig", "ISTFTVocoder", "ISTFTVocoderConfig",
           "Vocoder", "load_vocoder", "num_samples"]
