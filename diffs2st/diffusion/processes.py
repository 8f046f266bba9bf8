"""The concrete processes: DDPM, VE SDE, VP SDE, OU-VE (SGMSE+) and flow matching (OT-CFM).

Each is a frozen dataclass whose fields are its config, registered in `PROCESSES`; each only says what a(t), s(t)
(and, when continuous, their time derivatives) are; everything else comes from `GaussianProcess`. The SDE
processes also state their defining drift f and diffusion g; the tests check these agree with the marginals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import torch

from ..errors import ConfigError
from .process import PROCESSES, GaussianProcess, expand_as


def linear_betas(steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """β_1..β_T equally spaced (Ho et al. 2020, §4), float64 (T,)."""
    return torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)


def cosine_alpha_bars(steps: int, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_1..ᾱ_T of the cosine schedule (Nichol & Dhariwal 2021, eq. 17), β clipped at 0.999, float64 (T,)."""
    u = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((u + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    return torch.cumprod(1 - betas, dim=0)


@PROCESSES.register("ddpm")
@dataclass(frozen=True, eq=False)
class DDPM(GaussianProcess):
    """Discrete DDPM (Ho et al. 2020): x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε for t = 0..T−1;
    t = −1 means clean data.

    Integer times index the schedule from 0 (β_1) as in common implementations; the time grid of the samplers
    ends at −1 (ᾱ = 1) so the last step returns x0.
    """

    num_steps: int = 1000
    schedule: str = "linear"  # linear | cosine
    beta_start: float = 1e-4
    beta_end: float = 0.02

    discrete = True
    has_sde = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schedule not in ("linear", "cosine"):
            raise ConfigError(f"DDPM schedule {self.schedule!r} is not one of linear, cosine")
        if self.num_steps < 2:
            raise ConfigError(f"DDPM num_steps must be at least 2, got {self.num_steps}")

    @cached_property
    def alpha_bars(self) -> torch.Tensor:
        """(T + 1,) float64: ᾱ for t = −1 (1.0), 0, ..., T−1."""
        if self.schedule == "linear":
            bars = torch.cumprod(1 - linear_betas(self.num_steps, self.beta_start, self.beta_end), dim=0)
        else:
            bars = cosine_alpha_bars(self.num_steps)
        return torch.cat([torch.ones(1, dtype=torch.float64), bars])

    @property
    def t_min(self) -> int:
        return 0

    @property
    def t_max(self) -> int:
        return self.num_steps - 1

    def coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bar = self.alpha_bars.to(t.device)[t.long() + 1]
        return bar.sqrt(), (1 - bar).sqrt()

    def sample_time(self, batch: int, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
        return torch.randint(0, self.num_steps, (batch,), generator=generator, device=device)

    def time_grid(self, steps: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``steps`` integer times evenly spread from T−1 down to 0 ("trailing" spacing), then −1."""
        if not 1 <= steps <= self.num_steps:
            raise ConfigError(f"steps must be between 1 and {self.num_steps} for this DDPM, got {steps}")
        times = torch.linspace(self.num_steps - 1, 0, steps, dtype=torch.float64).round().long()
        return torch.cat([times, torch.tensor([-1])]).to(device)


@dataclass(frozen=True, eq=False)
class ContinuousProcess(GaussianProcess):
    """A process on t ∈ [t_min, 1]; subclasses set the ``t_start`` field for t_min."""

    t_start: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.t_start < 1:
            raise ConfigError(f"t_start must be in [0, 1), got {self.t_start}")

    @property
    def t_min(self) -> float:
        return self.t_start

    @property
    def t_max(self) -> float:
        return 1.0


@PROCESSES.register("ve")
@dataclass(frozen=True, eq=False)
class VESDE(ContinuousProcess):
    """VE SDE exactly as in Song's score-SDE tutorial notebook: dx = σ^t dw on t ∈ [0, 1].

    Marginal std s(t) = √((σ^{2t} − 1) / (2 ln σ)) (the tutorial's ``marginal_prob_std``), diffusion g(t) = σ^t
    (its ``diffusion_coeff``), σ = 25 by default; the prior is N(0, s(1)² I). The tutorial ends sampling at
    t = 1e-3 (here ``t_start``, which also bounds the training times; the tutorial trains from 1e-5).
    """

    prediction: str = "score"
    sigma: float = 25.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sigma <= 1:
            raise ConfigError(f"VE sigma must be above 1, got {self.sigma}")

    def coefficients(self, t):
        log_sigma = math.log(self.sigma)
        return torch.ones_like(t), torch.sqrt(torch.expm1(2 * t * log_sigma) / (2 * log_sigma))

    def derivatives(self, t):
        # d s/dt = σ^{2t} / (2 s), since d(s²)/dt = σ^{2t}.
        _, s = self.coefficients(t)
        return torch.zeros_like(t), self.sigma ** (2 * t) / (2 * s)

    def drift(self, x, t):
        return torch.zeros_like(x)

    def diffusion(self, t):
        return self.sigma ** t


@PROCESSES.register("vp")
@dataclass(frozen=True, eq=False)
class VPSDE(ContinuousProcess):
    """VP SDE (Song et al. 2021, eq. 11): dx = −½β(t)x dt + √β(t) dw, β(t) = β_min + t(β_max − β_min).

    a(t) = exp(−¼t²(β_max − β_min) − ½tβ_min), s(t) = √(1 − a²).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def coefficients(self, t):
        log_a = -0.25 * t * t * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min
        return log_a.exp(), torch.sqrt(-torch.expm1(2 * log_a))

    def derivatives(self, t):
        a, s = self.coefficients(t)
        da = -0.5 * self.beta(t) * a
        return da, -a * da / s

    def drift(self, x, t):
        return -0.5 * expand_as(self.beta(t), x) * x

    def diffusion(self, t):
        return self.beta(t).sqrt()


@PROCESSES.register("ouve")
@dataclass(frozen=True, eq=False)
class OUVESDE(ContinuousProcess):
    """OU-VE SDE of SGMSE+ (Richter et al. 2023, eq. 7):
    dx = γ(y − x) dt + σ_min(σ_max/σ_min)^t √(2 ln(σ_max/σ_min)) dw.

    Mean e^{−γt}x0 + (1 − e^{−γt})y; variance σ_min²((σ_max/σ_min)^{2t} − e^{−2γt}) L/(γ + L) with
    L = ln(σ_max/σ_min) (eq. 8). The prior is N(y, s(1)² I). y (same shape as x) is bound with ``bind(y)``.
    """

    gamma: float = 1.5
    sigma_min: float = 0.05
    sigma_max: float = 0.5
    t_start: float = 0.03
    anchor: torch.Tensor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.sigma_min < self.sigma_max or self.gamma <= 0:
            raise ConfigError("OU-VE needs 0 < sigma_min < sigma_max and gamma > 0")

    @property
    def anchored(self) -> bool:
        return self.anchor is not None

    def bind(self, anchor: torch.Tensor | None) -> "OUVESDE":
        bound = replace(self)  # a copy: the unbound process stays reusable
        object.__setattr__(bound, "anchor", anchor)
        return bound

    def _y(self, x: torch.Tensor) -> torch.Tensor:
        if self.anchor is None:
            raise ConfigError("the OU-VE process needs its conditioning signal y: use process.bind(y)")
        if self.anchor.shape != x.shape:
            raise ConfigError(f"OU-VE anchor has shape {tuple(self.anchor.shape)}, data has {tuple(x.shape)}")
        return self.anchor.to(x.dtype)

    @property
    def _log_ratio(self) -> float:
        return math.log(self.sigma_max / self.sigma_min)

    def coefficients(self, t):
        big_l, g = self._log_ratio, self.gamma
        variance = self.sigma_min ** 2 * (torch.exp(2 * t * big_l) - torch.exp(-2 * g * t)) * big_l / (g + big_l)
        return torch.exp(-g * t), variance.sqrt()

    def derivatives(self, t):
        big_l, g = self._log_ratio, self.gamma
        a, s = self.coefficients(t)
        d_variance = self.sigma_min ** 2 * (2 * big_l * torch.exp(2 * t * big_l)
                                            + 2 * g * torch.exp(-2 * g * t)) * big_l / (g + big_l)
        return -g * a, d_variance / (2 * s)

    def offset(self, t, x):
        return (1 - expand_as(torch.exp(-self.gamma * t), x)) * self._y(x)

    def offset_derivative(self, t, x):
        return self.gamma * expand_as(torch.exp(-self.gamma * t), x) * self._y(x)

    def prior_mean(self, like):
        return self._y(like)

    def drift(self, x, t):
        return self.gamma * (self._y(x) - x)

    def diffusion(self, t):
        return self.sigma_min * torch.exp(t * self._log_ratio) * math.sqrt(2 * self._log_ratio)


@PROCESSES.register("flow")
@dataclass(frozen=True, eq=False)
class FlowMatching(ContinuousProcess):
    """OT conditional flow matching (Lipman et al. 2023, eq. 20; time reversed so data sits at t = 0):

    x_t = (1 − t)·x0 + (σ_min + (1 − σ_min)t)·x1 with x1 ~ N(0, I); the velocity target is
    (1 − σ_min)x1 − x0 (= x1 − x0 for σ_min = 0). Sampling integrates the ODE from t = 1 to t = 0
    (`sample_ode_euler`/`_heun`).
    """

    prediction: str = "velocity"
    sigma_min: float = 0.0
    t_start: float = 0.0

    has_sde = False

    def coefficients(self, t):
        return 1 - t, self.sigma_min + (1 - self.sigma_min) * t

    def derivatives(self, t):
        return -torch.ones_like(t), torch.full_like(t, 1 - self.sigma_min)
