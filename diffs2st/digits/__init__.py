"""Class-conditional spoken-digit generation: a mel-image DDPM with classifier-free guidance (DESIGN §1, §3).

    model = load_checkpoint("pretrained/digits").model
    mels = model.generate(digits=[7] * 8, sampler="ddim", steps=25, guidance=2.0)   # (8, n_mels, frames) log-mel
"""

from .model import DigitDiffusion, DigitDiffusionConfig

__all__ = ["DigitDiffusion", "DigitDiffusionConfig"]
