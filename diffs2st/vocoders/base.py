"""The vocoder contract, the `VOCODERS` registry, Griffin-Lim as a vocoder, and `load_vocoder`.

Contract (STYLE rule 1): ``vocoder(mel) -> wave`` with ``mel`` (batch, n_mels, frames) or (n_mels, frames) giving
``wave`` (batch, samples) or (samples,), where

    samples = (frames - 1) * mel.hop_length.

Why ``frames - 1``: `log_mel` uses a centred STFT, so a wave of N samples has 1 + N // hop frames, frame i centred on
sample i * hop. A wave of (frames - 1) * hop samples therefore gives back exactly ``frames`` frames, and
``log_mel(vocoder(mel))`` lines up frame for frame with ``mel`` (Griffin-Lim already follows this relation).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import torch

from ..audio import DEFAULT_MEL, MelConfig, griffin_lim
from ..errors import AudioError, CheckpointError, ConfigError
from ..registry import Registry


class Vocoder(Protocol):
    mel: MelConfig

    def __call__(self, mel: torch.Tensor) -> torch.Tensor: ...


# Vocoder families by name: "griffin-lim" needs no weights; the trained families load from checkpoint directories.
VOCODERS: Registry[type] = Registry("vocoder")


def num_samples(frames: int, mel: MelConfig) -> int:
    """Samples a vocoder returns for ``frames`` mel frames (see the module docstring)."""
    return (frames - 1) * mel.hop_length


def as_batch(mel: torch.Tensor, config: MelConfig) -> tuple[torch.Tensor, bool]:
    """(n_mels, frames) or (batch, n_mels, frames) -> ((batch, n_mels, frames), whether the input was single)."""
    mel = torch.as_tensor(mel, dtype=torch.float32)
    if mel.dim() not in (2, 3) or mel.shape[-2] != config.n_mels:
        raise AudioError(f"a vocoder takes a ({config.n_mels}, frames) or (batch, {config.n_mels}, frames) log-mel, "
                         f"got shape {tuple(mel.shape)}")
    if mel.shape[-1] < 2:
        raise AudioError(f"a vocoder needs at least 2 mel frames, got {mel.shape[-1]}")
    single = mel.dim() == 2
    return (mel.unsqueeze(0) if single else mel), single


def trim_to_frames(wave: torch.Tensor, frames: int, mel: MelConfig) -> torch.Tensor:
    """Cut a (batch, frames * hop) upsampled wave to the contract's (frames - 1) * hop samples.

    Output block i of an upsampler spans samples [i*hop, (i+1)*hop), centred on i*hop + hop/2; dropping hop/2 samples
    at the start moves that centre to i*hop, the centre of centred-STFT frame i, and the length is cut to the
    contract's (frames - 1) * hop.
    """
    start = mel.hop_length // 2
    return wave[..., start:start + num_samples(frames, mel)]


@VOCODERS.register("griffin-lim")
class GriffinLimVocoder:
    """Griffin-Lim as a vocoder (no training; `diffs2st.audio.griffin_lim`)."""

    def __init__(self, mel: MelConfig, iters: int = 32) -> None:
        if iters < 0:
            raise ConfigError(f"griffin-lim iterations must be >= 0, got {iters}")
        self.mel, self.iters = mel, iters

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        batch, single = as_batch(mel, self.mel)
        if num_samples(batch.shape[-1], self.mel) <= self.mel.n_fft // 2:  # its STFT reflect-pads n_fft / 2
            frames = self.mel.n_fft // 2 // self.mel.hop_length + 2
            raise AudioError(f"griffin-lim needs at least {frames} mel frames, got {batch.shape[-1]}")
        # one item at a time: each item's random initial phase (and so its wave) must not depend on its neighbours
        wave = torch.stack([griffin_lim(item, self.mel, n_iter=self.iters) for item in batch])
        return wave[0] if single else wave


def load_vocoder(name_or_dir: str | os.PathLike, iters: int = 32, refine_iters: int | None = None,
                 mel: MelConfig | None = None) -> Vocoder:
    """A ready-to-use vocoder: ``"griffin-lim"`` (with ``iters``) or a checkpoint directory of a trained vocoder.

    ``mel`` is the MelConfig of the model whose log-mels the vocoder will invert: Griffin-Lim works in it (None: the
    project's `DEFAULT_MEL`), and a trained vocoder must have been trained on it.
    ``refine_iters`` overrides an iSTFT vocoder's Griffin-Lim phase refinement (None: the checkpoint's setting).

    Trained vocoders come back in eval mode with weight norm folded away (`remove_weight_norm`).
    """
    from ..checkpoint import load_checkpoint  # checkpoint imports every model module; keep this import lazy

    if str(name_or_dir) == "griffin-lim":
        return GriffinLimVocoder(mel or DEFAULT_MEL, iters)
    path = Path(name_or_dir)
    if not path.is_dir():
        if str(name_or_dir) in VOCODERS:
            raise ConfigError(f"vocoder {name_or_dir!r} needs trained weights: give its checkpoint directory")
        raise CheckpointError(f"no vocoder {str(name_or_dir)!r}: give 'griffin-lim' or a checkpoint directory")
    model = load_checkpoint(path).model
    if type(model) not in [VOCODERS.get(name) for name in VOCODERS]:
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a vocoder")
    if mel is not None and model.mel != mel:
        raise ConfigError(f"the vocoder {path} was trained on another MelConfig than the model's "
                          f"({model.mel} vs {mel})")
    if hasattr(model, "remove_weight_norm"):
        model.remove_weight_norm()
    if refine_iters is not None:
        if not hasattr(model, "refine_iters") or refine_iters < 0:
            raise ConfigError(f"refine_iters needs an iSTFT vocoder and a value >= 0, got {refine_iters} for "
                              f"{type(model).__name__}")
        model.refine_iters = refine_iters
    return model
