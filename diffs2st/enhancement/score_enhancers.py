"""Our score enhancers behind the shared ``enhancer(wave) -> wave`` contract, registered next to the baselines:
"score-conditional" (SGMSE+-style) and "score-prior" (SDEdit-style), each from a checkpoint directory (the bundled
one by default), with optional classifier guidance from a speaker classifier checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..audio import MelConfig
from ..checkpoint import load_model
from ..errors import ConfigError
from ..pretrained import model_or_bundled
from .baselines import ENHANCERS
from .score import ScoreEnhancer, SpeakerClassifier


class _ScoreEnhancerRunner:
    method = ""
    default_checkpoint: str  # name of the bundled checkpoint used when none is given

    def __init__(self, mel: MelConfig | None = None, checkpoint: str | Path | None = None, steps: int | None = None,
                 sampler: str | None = None, t_star: float | None = None, classifier: str | Path | None = None,
                 guidance_scale: float = 0.0, seed: int = 0) -> None:
        self.model = load_model(model_or_bundled(checkpoint, self.default_checkpoint), ScoreEnhancer, "score enhancer")
        if self.model.config.method != self.method:
            raise ConfigError(f"{checkpoint} is a {self.model.config.method} score enhancer, not {self.method}")
        rate = self.model.config.spectrogram.sample_rate
        if mel is not None and mel.sample_rate != rate:
            raise ConfigError(f"the enhancer works at {rate} Hz, not at the given MelConfig's {mel.sample_rate} Hz")
        self.classifier = None
        if classifier is not None:
            self.classifier = load_model(classifier, SpeakerClassifier, "enhancement speaker classifier")
            ours, theirs = self.model.config, self.classifier.config
            if (theirs.process, theirs.spectrogram, theirs.method) != (ours.process, ours.spectrogram, ours.method):
                raise ConfigError(f"{classifier} was trained for another process, spectrogram or method than the "
                                  "enhancer's")
        elif guidance_scale > 0:
            raise ConfigError("classifier guidance needs a classifier checkpoint")
        self.model.check_options(steps, sampler, t_star, guidance_scale)  # fail now, not on the first file
        self.options = {"steps": steps, "sampler": sampler, "t_star": t_star, "classifier": self.classifier,
                        "guidance_scale": guidance_scale, "seed": seed}
        self.sample_rate = rate

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model.enhance(wave, **self.options)


@ENHANCERS.register("score-conditional")
class ConditionalScoreEnhancer(_ScoreEnhancerRunner):
    """Conditional score model (OU-VE toward the noisy spectrogram, SGMSE+-style)."""

    method = "conditional"
    default_checkpoint = "enhance-conditional"


@ENHANCERS.register("score-prior")
class PriorScoreEnhancer(_ScoreEnhancerRunner):
    """Clean-speech prior (VE SDE), SDEdit-style: perturb the input to t_star and integrate back."""

    method = "prior"
    default_checkpoint = "enhance-prior"
