"""The process contract: how data is noised and how a network's prediction is read back.

Every process here has a Gaussian marginal of one shape (Kingma et al. 2021, "Variational Diffusion Models", §2):

    x_t = a(t) · x0 + c(t) + s(t) · ε,        ε ~ N(0, I)

with a scale a(t), an offset c(t) (zero except for the OU-VE process, whose mean drifts toward a conditioning
signal y) and a standard deviation s(t). Every prediction type a network can be trained on is an affine function
of (x0, ε) at fixed x_t and t:

    prediction = p(t) · x0 + q(t) · ε + r(t)

(ε: p=0, q=1; x0: p=1, q=0; v = a·ε − s·x0 (Salimans & Ho 2022); velocity dx_t/dt = a'·x0 + s'·ε + c';
score ∇ log p(x_t) = −ε / s). So converting any prediction to any other is one 2×2 linear solve (`split`),
which is written once here instead of once per pair of types and per process.

Tensors: x0, x_t, ε have shape (batch, ...); t has shape (batch,). Discrete processes use integer times.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import torch

from ..errors import ConfigError
from ..registry import Registry

PREDICTIONS = ("epsilon", "x0", "v", "velocity", "score")

# Name -> process class (each a frozen dataclass whose fields are its config).
PROCESSES: Registry[type] = Registry("diffusion process")


def expand_as(value: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor | float:
    """Per-example value (batch,) viewed as (batch, 1, ..., 1) to broadcast against x (batch, ...)."""
    if not isinstance(value, torch.Tensor):
        return value
    return value.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


@dataclass(frozen=True, eq=False)
class GaussianProcess:
    """Base of all processes. Subclasses give `coefficients` (and, when continuous, `derivatives`)."""

    prediction: str = "epsilon"

    discrete: ClassVar[bool] = False  # integer times (DDPM) or continuous t in [t_min, t_max]
    has_sde: ClassVar[bool] = True  # whether the SDE samplers (Euler–Maruyama, predictor–corrector) apply

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"prediction {self.prediction!r} is not one of {', '.join(PREDICTIONS)}")
        if self.prediction == "velocity" and self.discrete:
            raise ConfigError("velocity prediction needs a continuous-time process (use 'v' for DDPM)")

    # --- what a subclass defines -----------------------------------------------------------------------------
    @property
    def t_min(self) -> float:
        raise NotImplementedError

    @property
    def t_max(self) -> float:
        raise NotImplementedError

    def coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a(t), s(t)), each (batch,)."""
        raise NotImplementedError

    def derivatives(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(da/dt, ds/dt), each (batch,); continuous processes only."""
        raise ConfigError(f"{type(self).__name__} is discrete: it has no time derivatives")

    def offset(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor | float:
        """c(t), broadcastable to x; zero unless the mean drifts toward a conditioning signal."""
        return 0.0

    def offset_derivative(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor | float:
        """dc/dt, broadcastable to x."""
        return 0.0

    def prior_mean(self, like: torch.Tensor) -> torch.Tensor | float:
        return 0.0

    def sample_time(self, batch: int, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
        """Training times (batch,), uniform over the process's time range."""
        u = torch.rand(batch, generator=generator, device=device)
        return self.t_min + (self.t_max - self.t_min) * u

    def time_grid(self, steps: int, device: torch.device | str | None = None) -> torch.Tensor:
        """Descending sampling times (steps + 1,), from t_max to the final time, equally spaced."""
        if steps < 1:
            raise ConfigError(f"steps must be at least 1, got {steps}")
        return torch.linspace(self.t_max, self.t_min, steps + 1, device=device)

    # --- noising ---------------------------------------------------------------------------------------------
    def marginal(self, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean a·x0 + c and std s (broadcastable) of q(x_t | x0)."""
        a, s = self.coefficients(t)
        return expand_as(a, x0) * x0 + self.offset(t, x0), expand_as(s, x0)

    def perturb(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = a·x0 + c + s·noise."""
        mean, std = self.marginal(x0, t)
        return mean + std * noise

    def prior_sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None,
                     device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """x_T ~ N(prior mean, s(t_max)² I)."""
        noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        t = torch.full((shape[0],), self.t_max, device=device)
        _, s = self.coefficients(t.long() if self.discrete else t.to(dtype))
        return self.prior_mean(noise) + expand_as(s, noise) * noise

    # --- predictions -----------------------------------------------------------------------------------------
    def _weights(self, t: torch.Tensor, x: torch.Tensor, kind: str):
        """(p, q, r) with kind = p·x0 + q·ε + r, broadcastable to x."""
        a, s = (expand_as(v, x) for v in self.coefficients(t))
        if kind == "epsilon":
            return 0.0, 1.0, 0.0
        if kind == "x0":
            return 1.0, 0.0, 0.0
        if kind == "v":
            return -s, a, 0.0
        if kind == "score":
            return 0.0, -1.0 / s, 0.0
        if kind == "velocity":
            da, ds = (expand_as(v, x) for v in self.derivatives(t))
            return da, ds, self.offset_derivative(t, x)
        raise ConfigError(f"prediction {kind!r} is not one of {', '.join(PREDICTIONS)}")

    def from_x0_epsilon(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor,
                        kind: str | None = None) -> torch.Tensor:
        """The prediction of type ``kind`` (default: this process's) that corresponds to (x0, ε)."""
        p, q, r = self._weights(t, x0, kind or self.prediction)
        return p * x0 + q * eps + r

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Training target for this process's prediction type (x_t = perturb(x0, t, noise))."""
        return self.from_x0_epsilon(x0, noise, t)

    def split(self, prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
              kind: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x0̂, ε̂) from a prediction: solve [a s; p q]·[x0; ε] = [x_t − c; prediction − r]
        (Cramer's rule)."""
        a, s = (expand_as(v, x_t) for v in self.coefficients(t))
        p, q, r = self._weights(t, x_t, kind or self.prediction)
        centred, pred = x_t - self.offset(t, x_t), prediction - r
        det = a * q - s * p
        return (q * centred - s * pred) / det, (a * pred - p * centred) / det

    def convert(self, prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, to: str) -> torch.Tensor:
        """Re-express this process's prediction as ``to`` (one of PREDICTIONS)."""
        return self.from_x0_epsilon(*self.split(prediction, x_t, t), t, kind=to)

    def add_score(self, prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor,
                  score_delta: torch.Tensor) -> torch.Tensor:
        """The prediction whose score is the original score + score_delta (classifier guidance).

        Tweedie: x0̂ = (x_t − c + s²·score)/a and ε̂ = −s·score, so a score change δ moves x0̂ by s²δ/a
        and ε̂ by −sδ.
        """
        x0, eps = self.split(prediction, x_t, t)
        a, s = (expand_as(v, x_t) for v in self.coefficients(t))
        # Where a = 0 (flow matching at t = 1) x_t carries no information about x0, so a noise-aware classifier's
        # gradient is zero there; leave x0̂ unchanged instead of forming 0/0.
        x0_shift = torch.where(a > 0, s * s * score_delta / torch.where(a > 0, a, 1.0), 0.0)
        return self.from_x0_epsilon(x0 + x0_shift, eps - s * score_delta, t)

    # --- dynamics (continuous processes) ---------------------------------------------------------------------
    def ode_velocity(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Probability-flow ODE drift dx/dt = a'·x0̂ + c' + s'·ε̂ = E[dx_t/dt | x_t] (Song et al. 2021, eq. 13)."""
        return self.from_x0_epsilon(x0, eps, t, kind="velocity")

    def drift(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Forward SDE drift f(x, t) implied by the marginals: (a'/a)(x − c) + c'."""
        a, _ = self.coefficients(t)
        da, _ = self.derivatives(t)
        return expand_as(da / a, x) * (x - self.offset(t, x)) + self.offset_derivative(t, x)

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """Forward SDE diffusion g(t) (batch,) implied by the marginals: g² = d(s²)/dt − 2(a'/a)s²."""
        a, s = self.coefficients(t)
        da, ds = self.derivatives(t)
        return torch.sqrt(2 * s * ds - 2 * da / a * s * s)

    @property
    def anchored(self) -> bool:
        """Whether a per-example conditioning signal is bound (`bind`): then x must keep that signal's batch."""
        return False

    def bind(self, anchor: torch.Tensor | None) -> "GaussianProcess":
        """This process tied to a conditioning signal (only processes with an anchor use it)."""
        if anchor is not None:
            raise ConfigError(f"{type(self).__name__} takes no anchor signal")
        return self

    def with_prediction(self, prediction: str) -> "GaussianProcess":
        """The same process (including any bound anchor) trained/read with another prediction type."""
        copy = replace(self, prediction=prediction)
        for item in fields(self):
            if not item.init:  # e.g. the OU-VE anchor, which `replace` would reset
                object.__setattr__(copy, item.name, getattr(self, item.name))
        return copy


def build_process(config: dict) -> GaussianProcess:
    """A process from ``{"name": <registered name>, <field>: value, ...}``; unknown fields are errors."""
    from ..config import from_dict

    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError("a process config needs a 'name' (known: " + ", ".join(PROCESSES.names()) + ")")
    fields = {k: v for k, v in config.items() if k != "name"}
    cls = PROCESSES.get(config["name"])
    return from_dict(cls, fields, f"process {config['name']}")


def process_config(process: GaussianProcess) -> dict:
    """The config dict that `build_process` turns back into ``process`` (a bound anchor is data, not config)."""
    values = {item.name: getattr(process, item.name) for item in fields(process) if item.init}
    return {"name": PROCESSES.name_of(type(process)), **values}
