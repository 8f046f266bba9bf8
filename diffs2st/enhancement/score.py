"""Score-based speech enhancement on the diffusion core (DESIGN §3), two ways, one model class:

- ``method: conditional`` (SGMSE+, Richter et al. 2023): the OU-VE process whose mean drifts from the clean
  spectrogram toward the noisy one; the denoiser sees the noisy spectrogram as a frame prior (``cond["mu"]``).
  Sampling starts at the noisy spectrogram plus noise and integrates back to clean speech.
- ``method: prior`` (SDEdit, Meng et al. 2022): a score model of clean speech only (VE SDE). The noisy input is
  perturbed to an intermediate time t* (the ``t_star`` knob) and integrated back; speech is what the prior keeps.

Both work on the compressed complex spectrogram (`spectrogram.py`), frequency as channels of the 1-D U-Net, so the
phase is kept and the output aligns with the input. Inputs longer than a window are cut into overlapping windows
that are denoised as one batch and cross-faded in the spectrogram domain before a single inverse STFT (no seams).
Classifier guidance (`SpeakerClassifier`, ``guidance_scale``) steers toward the speaker the classifier hears in the
input, so enhancement keeps the voice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..diffusion import SAMPLERS, ClassifierGuidance, build_process, diffusion_loss, sample
from ..diffusion.process import expand_as
from ..errors import ConfigError
from ..nets.classifier import NoiseAwareClassifier, NoiseAwareClassifierConfig
from ..nets.unet1d import UNet1D, UNet1DConfig
from ..registry import MODELS
from .spectrogram import ComplexSpectrogramConfig, analyse, synthesise

METHODS = ("conditional", "prior")
PEAK_FLOOR = 1e-4  # inputs quieter than this are not amplified further
WINDOW_BATCH = 16  # inference windows denoised together


def _default_backbone() -> UNet1DConfig:
    channels = ComplexSpectrogramConfig().channels
    return UNet1DConfig(channels=channels, prior_channels=channels, dim=64, dim_mults=(1, 2, 2))


@dataclass(frozen=True)
class ScoreEnhancerConfig:
    """``sampler``/``steps``/``t_star``/``snr`` are the inference defaults (chosen by measurement, see
    docs/benchmarks/enhancement/enhancement.md); every call can override them."""

    method: str = "conditional"
    spectrogram: ComplexSpectrogramConfig = field(default_factory=ComplexSpectrogramConfig)
    backbone: UNet1DConfig = field(default_factory=_default_backbone)
    process: dict[str, Any] = field(default_factory=lambda: {"name": "ouve", "prediction": "x0"})
    loss: str = "mse"
    loss_space: Optional[str] = None
    sampler: str = "pc"
    steps: int = 8
    t_star: float = 0.5  # prior method: the time the noisy input is perturbed to
    snr: float = 0.5  # Langevin corrector step rule of the pc sampler (SGMSE+ uses 0.5)
    # The last time of the sampling grid: None = the process's t_min (the samplers then return the denoised
    # estimate there); 0 = the clean end itself, where the ddim sampler lands exactly on its last denoised estimate,
    # so `steps` network evaluations and with steps 1 the estimate x0̂(x_1, 1) from the prior sample.
    grid_end: Optional[float] = None
    window_frames: int = 256  # inference window (~2 s at hop 128, the training crop) ...
    overlap_frames: int = 32  # ... and the cross-faded overlap between windows
    train_t_max: float = 1.0  # training times are uniform on [t_min, train_t_max] (the prior needs only t <= t_star)
    # ... except this fraction of each batch, taken at train_t_max itself: where sampling starts, and the one
    # network evaluation of the one-step sampler (grid_end 0, steps 1)
    train_t_max_fraction: float = 0.0
    # Karras et al. (2022) preconditioning of the x0 estimate (see `ScoreEnhancer.forward`); data_std is the std of
    # the compressed clean spectrogram of peak-normalised synth-noisy train speech (measured: 0.064).
    preconditioning: bool = True
    data_std: float = 0.064
    # With preconditioning, what the network's output is: "mask" = a complex mask on a full-resolution reference
    # (the noisy spectrogram for the conditional method, the noisy estimate x̃ for the prior), "direct" = the
    # spectrogram itself. The 1-D U-Net squeezes 2·bins channels into ``backbone.dim`` features, so a direct output
    # is a low-rank, smeared spectrum; a mask keeps the reference's harmonics (measured: see the benchmark report).
    output: str = "mask"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"enhancement method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.backbone.channels != self.spectrogram.channels:
            raise ConfigError(f"backbone.channels must be {self.spectrogram.channels} (2 x STFT bins)")
        wanted = self.spectrogram.channels if self.method == "conditional" else 0
        if self.backbone.prior_channels != wanted:
            raise ConfigError(f"backbone.prior_channels must be {wanted} for the {self.method} method")
        is_ouve = self.process.get("name") == "ouve"
        if is_ouve != (self.method == "conditional"):
            raise ConfigError("the conditional method needs the 'ouve' process; the prior method a process without "
                              "an anchor (e.g. 've')")
        if not 0 < self.overlap_frames < self.window_frames:
            raise ConfigError("need 0 < overlap_frames < window_frames")
        if not 0 < self.train_t_max <= 1:
            raise ConfigError("train_t_max must be in (0, 1]")
        if not 0 <= self.train_t_max_fraction <= 1:
            raise ConfigError("train_t_max_fraction must be in [0, 1]")
        if self.preconditioning and self.process.get("prediction") != "x0":
            raise ConfigError("preconditioning predicts x0: set process.prediction to x0 (or preconditioning false)")
        if self.grid_end is not None and self.grid_end < 0:
            raise ConfigError(f"grid_end must be >= 0, got {self.grid_end}")
        if self.data_std <= 0:
            raise ConfigError("data_std must be positive")
        if self.output not in ("mask", "direct"):
            raise ConfigError(f"output {self.output!r} is not one of mask, direct")


def window_starts(frames: int, window: int, overlap: int) -> list[int]:
    """Start frames of evenly spaced windows of ``window`` frames covering ``frames``, neighbours sharing at least
    ``overlap`` frames; the first starts at 0 and the last ends at ``frames``. One window when the input fits."""
    if frames <= window:
        return [0]
    count = 1 + math.ceil((frames - window) / (window - overlap))
    return [round(i * (frames - window) / (count - 1)) for i in range(count)]


def crossfade_weights(starts: Sequence[int], window: int, frames: int, overlap: int) -> torch.Tensor:
    """Per-window frame weights (windows, window) that sum to one over every frame: each window ramps up over its
    first ``overlap`` frames and down over its last (except at the ends of the input), then the weights are
    normalised by their sum per frame."""
    ramp = torch.linspace(0, 1, overlap + 2)[1:-1]
    weights = torch.ones(len(starts), window)
    for i, start in enumerate(starts):
        if start > 0:
            weights[i, :overlap] = ramp
        if start + window < frames:
            weights[i, window - overlap:] = ramp.flip(0)
    total = torch.zeros(frames)
    for i, start in enumerate(starts):
        total[start:start + window] += weights[i]
    return torch.stack([weights[i] / total[start:start + window] for i, start in enumerate(starts)])


def bound_process(process, method: str, noisy_spec: torch.Tensor | None):
    """The process a method samples with: OU-VE bound to the noisy spectrogram (conditional), the prior as is."""
    return process.bind(noisy_spec) if method == "conditional" else process


def complex_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise complex product of two (batch, 2·bins, frames) real/imaginary channel stacks."""
    a_real, a_imag = a.chunk(2, dim=1)
    b_real, b_imag = b.chunk(2, dim=1)
    return torch.cat([a_real * b_real - a_imag * b_imag, a_real * b_imag + a_imag * b_real], dim=1)


@MODELS.register("score-enhancer")
class ScoreEnhancer(nn.Module):
    """Training: ``loss((clean, noisy, labels))`` with waves (batch, samples). Inference: `enhance`."""

    config_class = ScoreEnhancerConfig

    def __init__(self, config: ScoreEnhancerConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = UNet1D(config.backbone)
        self.process = build_process(config.process)

    @property
    def conditional(self) -> bool:
        return self.config.method == "conditional"

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """The denoiser contract. With preconditioning (Karras et al. 2022, Table 1, generalised to x_t = a·x0 + c
        + s·ε): x̃ = (x_t − c)/a is x0 plus noise of std σ = s/a, and

            x0̂ = c_skip·x̃ + c_out·F(c_in·x̃, t, μ/σ_data),
            c_skip = σ_d²/(σ² + σ_d²),  c_out = σ·σ_d/√(σ² + σ_d²),  c_in = 1/√(σ² + σ_d²),

        so the network sees unit-scale inputs at every noise level and only predicts what x̃ lacks: at low noise
        the output is x̃ itself, at high noise the network's estimate (for OU-VE, c pulls toward the noisy μ)."""
        if not self.config.preconditioning:
            return self.backbone(x_t, t, cond)
        mu = cond.get("mu") if isinstance(cond, dict) else None
        process = bound_process(self.process, self.config.method, mu)
        a, s = (expand_as(v, x_t) for v in process.coefficients(t))
        estimate = (x_t - process.offset(t, x_t)) / a
        sigma, sigma_d = s / a, self.config.data_std
        norm = torch.sqrt(sigma ** 2 + sigma_d ** 2)
        inner = {"mu": mu / sigma_d} if mu is not None else None
        out = self.backbone(estimate / norm, t, inner)
        if self.config.output == "mask":
            out = complex_product(out, inner["mu"] if mu is not None else estimate / norm)
        return (sigma_d ** 2 / norm ** 2) * estimate + (sigma * sigma_d / norm) * out

    def setup(self, noisy_spec: torch.Tensor):
        """(process, cond) for a batch of noisy spectrograms: OU-VE bound to them, or the unconditional prior."""
        process = bound_process(self.process, self.config.method, noisy_spec)
        return process, ({"mu": noisy_spec} if self.conditional else None)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        clean, noisy = batch[0], batch[1]
        spec = self.config.spectrogram
        clean_spec = analyse(clean, spec)
        process, cond = self.setup(analyse(noisy, spec))
        u = torch.rand(clean_spec.shape[0], device=clean_spec.device)
        t_max = min(self.config.train_t_max, process.t_max)
        t = process.t_min + (t_max - process.t_min) * u
        if self.config.train_t_max_fraction > 0:
            at_start = torch.rand(t.shape, device=t.device) < self.config.train_t_max_fraction
            t = torch.where(at_start, torch.full_like(t, t_max), t)
        value = diffusion_loss(self, process, clean_spec, cond, loss=self.config.loss,
                               loss_space=self.config.loss_space, t=t)
        return {"loss": value}

    def start(self, noisy_spec: torch.Tensor, steps: int, t_star: float, generator: torch.Generator):
        """(x_start, timesteps) of the reverse process for these noisy spectrograms."""
        process, _ = self.setup(noisy_spec)
        device = noisy_spec.device
        end = process.t_min if self.config.grid_end is None else self.config.grid_end
        if self.conditional:
            start = process.t_max
            x = process.prior_sample(tuple(noisy_spec.shape), generator=generator, device=device)
        else:
            if not process.t_min < t_star <= process.t_max:
                raise ConfigError(f"t_star must be in ({process.t_min}, {process.t_max}], got {t_star}")
            start = t_star
            t = torch.full((noisy_spec.shape[0],), t_star, device=device)
            x = process.perturb(noisy_spec, t, torch.randn(noisy_spec.shape, generator=generator, device=device))
        return x, torch.linspace(start, end, steps + 1, device=device)

    def check_options(self, steps: int | None, sampler: str | None, t_star: float | None,
                      guidance_scale: float = 0.0) -> tuple[int, str, float]:
        """The inference options with the config's defaults filled in; a bad one is a `ConfigError` (before any
        work is done)."""
        steps = self.config.steps if steps is None else steps
        sampler = self.config.sampler if sampler is None else sampler
        if steps < 1:
            raise ConfigError(f"steps must be at least 1, got {steps}")
        SAMPLERS.get(sampler)
        if self.conditional and t_star is not None:
            raise ConfigError("t_star is an option of the prior method; the conditional method starts at t = 1")
        t_star = self.config.t_star if t_star is None else t_star
        if not self.conditional and not self.process.t_min < t_star <= self.process.t_max:
            raise ConfigError(f"t_star must be in ({self.process.t_min}, {self.process.t_max}], got {t_star}")
        if guidance_scale < 0:
            raise ConfigError(f"the guidance scale must be >= 0, got {guidance_scale}")
        return steps, sampler, t_star

    @torch.no_grad()
    def enhance(self, wave: np.ndarray | torch.Tensor, *, steps: int | None = None, sampler: str | None = None,
                t_star: float | None = None, classifier: Optional["SpeakerClassifier"] = None,
                guidance_scale: float = 0.0, speaker: int | None = None, seed: int = 0,
                progress: bool = False, **sampler_options) -> np.ndarray:
        """Noisy wave (samples,) at the spectrogram's rate -> enhanced wave (samples,), float32.

        The input is scaled by its peak (as in training) and the output scaled back. ``classifier`` with
        ``guidance_scale`` > 0 adds classifier guidance toward ``speaker`` (default: the speaker the classifier
        hears in the input)."""
        config = self.config
        steps, sampler, t_star = self.check_options(steps, sampler, t_star, guidance_scale)
        if sampler == "pc":
            sampler_options.setdefault("snr", config.snr)
        wave = torch.as_tensor(np.asarray(wave, dtype=np.float32))
        if wave.dim() != 1 or wave.numel() == 0:
            raise ValueError(f"expected a non-empty mono wave (samples,), got shape {tuple(wave.shape)}")
        device = next(self.parameters()).device
        peak = float(wave.abs().max().clamp_min(PEAK_FLOOR))
        noisy_spec = analyse((wave / peak)[None].to(device), config.spectrogram)
        frames = noisy_spec.shape[-1]
        window = min(config.window_frames, frames)
        starts = window_starts(frames, window, config.overlap_frames)
        windows = torch.cat([noisy_spec[..., s:s + window] for s in starts])
        generator = torch.Generator(device=device).manual_seed(seed)
        guidance = None
        if classifier is not None and guidance_scale > 0:
            # The speaker is read from the noisy input itself at the lowest noise level the classifier knows.
            label = classifier.predict_speaker(windows, self.process.t_min) if speaker is None else speaker
            guidance = ClassifierGuidance(classifier, guidance_scale, label)
        pieces = []
        for first in range(0, len(windows), WINDOW_BATCH):  # bounded memory for long inputs
            part = windows[first:first + WINDOW_BATCH]
            x_start, grid = self.start(part, steps, t_star, generator)
            process, cond = self.setup(part)
            pieces.append(sample(sampler, self, process, x_start, timesteps=grid, cond=cond, guidance=guidance,
                                 generator=generator, progress=progress, **sampler_options))
        clean = torch.cat(pieces)
        weights = crossfade_weights(starts, window, frames, config.overlap_frames).to(clean)
        joined = torch.zeros_like(noisy_spec)
        for i, s in enumerate(starts):
            joined[..., s:s + window] += clean[i:i + 1] * weights[i]
        out = synthesise(joined, config.spectrogram, wave.numel())[0] * peak
        return out.cpu().numpy().astype(np.float32)


@dataclass(frozen=True)
class SpeakerClassifierConfig:
    """A noise-aware speaker classifier for classifier guidance of a score enhancer: trained on the same
    representation and the same process (``method``/``process`` must equal the enhancer's)."""

    method: str = "conditional"
    spectrogram: ComplexSpectrogramConfig = field(default_factory=ComplexSpectrogramConfig)
    process: dict[str, Any] = field(default_factory=lambda: {"name": "ouve", "prediction": "x0"})
    classifier: NoiseAwareClassifierConfig = field(default_factory=lambda: NoiseAwareClassifierConfig(
        num_classes=2, dims=1, in_channels=ComplexSpectrogramConfig().channels, dim=64, dim_mults=(1, 2, 2),
        time_scale=1000.0))
    speakers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"enhancement method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.classifier.dims != 1 or self.classifier.in_channels != self.spectrogram.channels:
            raise ConfigError(f"the classifier must be 1-D over {self.spectrogram.channels} channels")
        if self.speakers and len(self.speakers) != self.classifier.num_classes:
            raise ConfigError("classifier.num_classes must equal the number of speakers")


@MODELS.register("enhancement-speaker-classifier")
class SpeakerClassifier(nn.Module):
    """``classifier(x_t, t) -> logits`` over the training speakers, for `ClassifierGuidance`."""

    config_class = SpeakerClassifierConfig

    def __init__(self, config: SpeakerClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.network = NoiseAwareClassifier(config.classifier)
        self.process = build_process(config.process)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.network(x_t, t)

    def loss(self, batch) -> dict[str, torch.Tensor]:
        clean, noisy, labels = batch
        spec = self.config.spectrogram
        clean_spec = analyse(clean, spec)
        process = bound_process(self.process, self.config.method, analyse(noisy, spec))
        t = process.sample_time(clean_spec.shape[0], device=clean_spec.device)
        x_t = process.perturb(clean_spec, t, torch.randn_like(clean_spec))
        logits = self(x_t, t)
        return {"loss": F.cross_entropy(logits, labels),
                "accuracy": (logits.argmax(-1) == labels).float().mean()}

    @torch.no_grad()
    def predict_speaker(self, x_t: torch.Tensor, t: torch.Tensor | float) -> int:
        """The most likely training speaker of a batch of windows of one utterance (logits summed over windows)."""
        times = torch.as_tensor(t, dtype=x_t.dtype, device=x_t.device).expand(x_t.shape[0])
        return int(self(x_t, times).log_softmax(-1).sum(0).argmax())
