"""Samplers: pure functions sharing one signature, registered in `SAMPLERS`.

    sample_xxx(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None, callback=None,
               generator=None, progress=False, **sampler_options) -> x0

- ``denoiser(x_t, t, cond) -> prediction`` of ``process.prediction``; x_T (batch, ...) is the start (usually
  ``process.prior_sample``); t passed to the denoiser is (batch,).
- Give ``steps`` (an equally spaced grid from ``process.time_grid``) or ``timesteps`` (a descending 1-D tensor of
  times, the last being the end time — e.g. start at t = 0.05 to enhance a noisy input (SDEdit-style)).
- ``guidance``: None, a guidance object or a sequence of them (`diffs2st.diffusion.guidance`).
- ``callback(step_index, x, x0_hat)`` after every step (for progress and showing intermediate states).
- Continuous grids end at ``process.t_min`` > 0 for the SDE processes; the samplers then return the Tweedie
  estimate E[x0 | x_{t_min}] (the "noise removal" step of Song et al. 2021) instead of the still slightly noisy
  x_{t_min}. Where the final time has s = 0 (DDPM's t = −1, flow matching's t = 0) the state itself is returned.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..registry import Registry
from .guidance import guided
from .process import GaussianProcess

SAMPLERS: Registry[Callable[..., torch.Tensor]] = Registry("sampler")
Predict = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _grid(process: GaussianProcess, x: torch.Tensor, steps: int | None, timesteps: torch.Tensor | None):
    if (steps is None) == (timesteps is None):
        raise ConfigError("give a sampler either steps or timesteps, not both or neither")
    grid = process.time_grid(steps, x.device) if timesteps is None else torch.as_tensor(timesteps, device=x.device)
    if grid.dim() != 1 or len(grid) < 2 or not bool((grid[1:] < grid[:-1]).all()):
        raise ConfigError("timesteps must be a descending 1-D sequence of at least two times")
    return grid.long() if process.discrete else grid.to(x.dtype)


def _predictor(denoiser, process: GaussianProcess, cond: Any, guidance: Any) -> Predict:
    """(x, t scalar tensor) -> (x0̂, ε̂) through the guided denoiser."""
    model = guided(denoiser, process, guidance)

    def predict(x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t_batch = t.expand(x.shape[0])
        return process.split(model(x, t_batch, cond), x, t_batch)

    return predict


def _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance):
    return _grid(process, x_T, steps, timesteps), _predictor(denoiser, process, cond, guidance)


def _steps(grid: torch.Tensor, progress: bool):
    pairs = list(zip(grid[:-1], grid[1:]))
    return enumerate(tqdm(pairs, desc="sampling", disable=not progress, leave=False))


def _finish(process: GaussianProcess, predict: Predict, x: torch.Tensor, t_end: torch.Tensor) -> torch.Tensor:
    """x itself if s(t_end) = 0, else the Tweedie denoised estimate at t_end."""
    _, s = process.coefficients(t_end.reshape(1))
    return x if float(s) == 0 else predict(x, t_end)[0]


def _noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _scalars(process: GaussianProcess, t: torch.Tensor) -> tuple[float, float]:
    a, s = process.coefficients(t.reshape(1))
    return float(a), float(s)


def _require(process: GaussianProcess, what: str) -> None:
    if what == "sde" and not process.has_sde:
        raise ConfigError(f"{type(process).__name__} has no SDE sampler; use ddim/ddpm or an ODE sampler")
    if what == "continuous" and process.discrete:
        raise ConfigError(f"{type(process).__name__} is discrete; use the ddpm or ddim sampler")


@SAMPLERS.register("ddim")
@torch.no_grad()
def sample_ddim(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None, callback=None,
                generator=None, progress=False, eta: float = 0.0) -> torch.Tensor:
    """DDIM (Song, Meng & Ermon 2021, eq. 12) for any Gaussian process, η = 0 deterministic, η = 1 ancestral.

    x_{t'} = a' x0̂ + c' + √(s'² − σ²) ε̂ + σ z with σ² = η² (s'²/s²)(s² − (a/a')² s'²),
    the posterior variance of q(x_{t'} | x_t, x0) scaled by η².
    """
    grid, predict = _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance)
    x = x_T
    for i, (t, t_next) in _steps(grid, progress):
        x0, eps = predict(x, t)
        (a, s), (a_next, s_next) = _scalars(process, t), _scalars(process, t_next)
        variance = max(eta ** 2 * (s_next ** 2 / s ** 2) * (s ** 2 - (a / a_next) ** 2 * s_next ** 2), 0.0)
        x = a_next * x0 + process.offset(t_next.reshape(1), x) + (s_next ** 2 - variance) ** 0.5 * eps
        if variance > 0:
            x = x + variance ** 0.5 * _noise(x, generator)
        if callback is not None:
            callback(i, x, x0)
    return _finish(process, predict, x, grid[-1])


@SAMPLERS.register("ddpm")
def sample_ddpm(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None, callback=None,
                generator=None, progress=False) -> torch.Tensor:
    """DDPM ancestral sampling (Ho et al. 2020, Alg. 2, posterior variance β̃): DDIM with η = 1
    (DDIM paper §4.1)."""
    return sample_ddim(denoiser, process, x_T, steps, timesteps=timesteps, cond=cond, guidance=guidance,
                       callback=callback, generator=generator, progress=progress, eta=1.0)


def _reverse_sde_step(process, x, t, t_next, eps, generator):
    """Euler–Maruyama step of the reverse SDE dx = [f − g²∇log p] dt + g dw̄ (Song et al. 2021, eq. 6)."""
    t1 = t.reshape(1)
    _, s = _scalars(process, t)
    dt = float(t_next - t)
    g = float(process.diffusion(t1))
    score = -eps / s
    return x + (process.drift(x, t1) - g * g * score) * dt + g * abs(dt) ** 0.5 * _noise(x, generator)


@SAMPLERS.register("euler_maruyama")
@torch.no_grad()
def sample_euler_maruyama(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None,
                          callback=None, generator=None, progress=False) -> torch.Tensor:
    """Euler–Maruyama on the reverse-time SDE (the score-SDE tutorial's sampler), then noise removal."""
    _require(process, "sde")
    grid, predict = _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance)
    x = x_T
    for i, (t, t_next) in _steps(grid, progress):
        x0, eps = predict(x, t)
        x = _reverse_sde_step(process, x, t, t_next, eps, generator)
        if callback is not None:
            callback(i, x, x0)
    return _finish(process, predict, x, grid[-1])


def _reverse_diffusion_step(process, x, t, t_next, eps, generator):
    """Reverse-diffusion predictor (Song et al. 2021, eq. 46) for the discretised forward chain
    x_t = k x_{t'} + (c_t − k c_{t'}) + G z with k = a_t/a_{t'} and G² = s_t² − k² s_{t'}²:
    x_{t'} = (2 − k) x − c_t + k c_{t'} + G² ∇log p + G z."""
    t1, n1 = t.reshape(1), t_next.reshape(1)
    (a, s), (a_next, s_next) = _scalars(process, t), _scalars(process, t_next)
    k = a / a_next
    g2 = max(s * s - k * k * s_next * s_next, 0.0)
    mean = (2 - k) * x - process.offset(t1, x) + k * process.offset(n1, x) + g2 * (-eps / s)
    return mean + g2 ** 0.5 * _noise(x, generator)


def _langevin_step(process, predict, x, t, t_next, snr, generator):
    """Langevin corrector (Song et al. 2021, Alg. 4/5): step ε = 2α (snr·‖z‖/‖∇log p‖)², norms averaged
    over the batch as in the reference implementation (a per-example ratio explodes near modes in low dimensions)."""
    (a, s), (a_next, _) = _scalars(process, t), _scalars(process, t_next)
    alpha = (a / a_next) ** 2  # 1 for VE; ≈ 1 − β_i for VP, as the reference's `alphas`
    grad = -predict(x, t)[1] / s
    noise = _noise(x, generator)
    grad_norm = grad.reshape(len(x), -1).norm(dim=-1).mean()
    noise_norm = noise.reshape(len(x), -1).norm(dim=-1).mean()
    step = 2 * alpha * (snr * noise_norm / grad_norm) ** 2
    return x + step * grad + (2 * step).sqrt() * noise


PREDICTORS = {"reverse_diffusion": _reverse_diffusion_step, "euler_maruyama": _reverse_sde_step}


@SAMPLERS.register("pc")
@torch.no_grad()
def sample_pc(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None, callback=None,
              generator=None, progress=False, predictor: str = "reverse_diffusion", snr: float = 0.16,
              corrector_steps: int = 1) -> torch.Tensor:
    """Predictor–corrector sampling (Song et al. 2021, Alg. 1): at each time, ``corrector_steps`` Langevin steps
    with the SNR step-size rule, then one predictor step (reverse diffusion or Euler–Maruyama)."""
    _require(process, "sde")
    if predictor not in PREDICTORS:
        raise ConfigError(f"predictor {predictor!r} is not one of {', '.join(PREDICTORS)}")
    grid, predict = _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance)
    x = x_T
    for i, (t, t_next) in _steps(grid, progress):
        for _ in range(corrector_steps):
            x = _langevin_step(process, predict, x, t, t_next, snr, generator)
        x0, eps = predict(x, t)
        x = PREDICTORS[predictor](process, x, t, t_next, eps, generator)
        if callback is not None:
            callback(i, x, x0)
    return _finish(process, predict, x, grid[-1])


def _velocity(process: GaussianProcess, predict: Predict, x: torch.Tensor, t: torch.Tensor):
    x0, eps = predict(x, t)
    return process.ode_velocity(x0, eps, t.expand(x.shape[0])), x0


@SAMPLERS.register("ode_euler")
@torch.no_grad()
def sample_ode_euler(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None,
                     callback=None, generator=None, progress=False) -> torch.Tensor:
    """Euler on the probability-flow ODE dx/dt = a'x0̂ + c' + s'ε̂; for flow matching this is the usual Euler
    sampler on the learned velocity (Lipman et al. 2023)."""
    _require(process, "continuous")
    grid, predict = _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance)
    x = x_T
    for i, (t, t_next) in _steps(grid, progress):
        d, x0 = _velocity(process, predict, x, t)
        x = x + (t_next - t) * d
        if callback is not None:
            callback(i, x, x0)
    return _finish(process, predict, x, grid[-1])


@SAMPLERS.register("ode_heun")
@torch.no_grad()
def sample_ode_heun(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None,
                    callback=None, generator=None, progress=False) -> torch.Tensor:
    """Heun's 2nd-order method on the probability-flow ODE (Karras et al. 2022, Alg. 1 without churn)."""
    _require(process, "continuous")
    grid, predict = _prepare(denoiser, process, x_T, steps, timesteps, cond, guidance)
    x = x_T
    for i, (t, t_next) in _steps(grid, progress):
        d, x0 = _velocity(process, predict, x, t)
        x_euler = x + (t_next - t) * d
        d_next, _ = _velocity(process, predict, x_euler, t_next)
        x = x + (t_next - t) * (d + d_next) / 2
        if callback is not None:
            callback(i, x, x0)
    return _finish(process, predict, x, grid[-1])


@SAMPLERS.register("ode_adaptive")
@torch.no_grad()
def sample_ode_adaptive(denoiser, process, x_T, steps=None, *, timesteps=None, cond=None, guidance=None,
                        callback=None, generator=None, progress=False, rtol: float = 1e-5, atol: float = 1e-5,
                        method: str = "RK45") -> torch.Tensor:
    """Probability-flow ODE with scipy's adaptive ``solve_ivp`` (RK45, rtol = atol = 1e-5 as the score-SDE
    tutorial). ``steps`` is ignored (the solver chooses); ``timesteps``, if given, supplies the start and end
    times. ``callback(evaluation_index, x, x0_hat)`` runs at every function evaluation."""
    from scipy.integrate import solve_ivp

    _require(process, "continuous")
    grid = _grid(process, x_T, None, timesteps) if timesteps is not None else torch.tensor(
        [process.t_max, process.t_min], dtype=x_T.dtype, device=x_T.device)
    predict = _predictor(denoiser, process, cond, guidance)
    evaluations = 0

    def rhs(t: float, y):
        nonlocal evaluations
        x = torch.as_tensor(y, device=x_T.device).reshape(x_T.shape).to(x_T.dtype)
        d, x0 = _velocity(process, predict, x, torch.tensor(t, dtype=x_T.dtype, device=x_T.device))
        if callback is not None:
            callback(evaluations, x, x0)
        evaluations += 1
        return d.reshape(-1).double().cpu().numpy()

    start, end = float(grid[0]), float(grid[-1])
    solution = solve_ivp(rhs, (start, end), x_T.reshape(-1).double().cpu().numpy(), rtol=rtol, atol=atol,
                         method=method)
    if not solution.success:
        raise RuntimeError(f"adaptive ODE solver failed: {solution.message}")
    x = torch.as_tensor(solution.y[:, -1], device=x_T.device).reshape(x_T.shape).to(x_T.dtype)
    return _finish(process, predict, x, grid[-1])


def sample(name: str, denoiser, process, x_T, steps=None, **kwargs) -> torch.Tensor:
    """Run the sampler registered as ``name`` (see `SAMPLERS.names()`)."""
    return SAMPLERS.get(name)(denoiser, process, x_T, steps, **kwargs)
