"""Diffusion core (DESIGN §3): processes, samplers, guidance and the training loss.

Contract: a denoiser is ``net(x_t, t, cond) -> prediction``; a process (`GaussianProcess`) noises data and converts
predictions; a sampler is a function ``sample_xxx(denoiser, process, x_T, steps, ...) -> x0``.
"""

from .conditioning import NULL_LABEL, drop_condition, null_condition
from .guidance import ClassifierFreeGuidance, ClassifierGuidance, guided
from .loss import diffusion_loss
from .process import PREDICTIONS, PROCESSES, GaussianProcess, build_process
from .processes import DDPM, VESDE, VPSDE, FlowMatching, OUVESDE, cosine_alpha_bars, linear_betas
from .samplers import (SAMPLERS, sample, sample_ddim, sample_ddpm, sample_euler_maruyama, sample_ode_adaptive,
                       sample_ode_euler, sample_ode_heun, sample_pc)

__all__ = [
    "NULL_LABEL", "drop_condition", "null_condition", "ClassifierFreeGuidance", "ClassifierGuidance", "guided",
    "diffusion_loss", "PREDICTIONS", "PROCESSES", "GaussianProcess", "build_process", "DDPM", "VESDE", "VPSDE",
    "FlowMatching", "OUVESDE", "cosine_alpha_bars", "linear_betas", "SAMPLERS", "sample", "sample_ddim",
    "sample_ddpm", "sample_euler_maruyama", "sample_ode_adaptive", "sample_ode_euler", "sample_ode_heun",
    "sample_pc",
]
