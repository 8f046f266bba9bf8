"""Diffusion core (DESIGN §3): processes, samplers, guidance and the training loss.

Contract: a denoiser is ``net(x_t, t, cond) -> prediction``; a process (`GaussianProcess`) noises data and converts
predictions; a sampler is a function ``sample_xxx(denoiser, process, x_T, steps, ...) -> x0``.

    process = DDPM(num_steps=300, prediction="epsilon")              # or build_process({"name": "ve"})
    loss = diffusion_loss(net, process, x0, labels, loss="huber", cond_dropout=0.1)
    x_T = process.prior_sample(shape)
    x0 = sample("ddim", net, process, x_T, 50, cond=labels, guidance=ClassifierFreeGuidance(3.0))

OU-VE (enhancement) needs its conditioning signal: ``process = OUVESDE().bind(noisy)``, then the same calls.
"""

from .conditioning import NULL_LABEL, drop_condition, null_condition
from .guidance import ClassifierFreeGuidance, ClassifierGuidance, guided
from .loss import diffusion_loss
from .process import PREDICTIONS, PROCESSES, GaussianProcess, build_process, process_config
from .processes import DDPM, VESDE, VPSDE, FlowMatching, OUVESDE, cosine_alpha_bars, linear_betas
from .samplers import (SAMPLERS, sample, sample_ddim, sample_ddpm, sample_euler_maruyama, sample_ode_adaptive,
                       sample_ode_euler, sample_ode_heun, sample_pc)

__all__ = [
    "NULL_LABEL", "drop_condition", "null_condition", "ClassifierFreeGuidance", "ClassifierGuidance", "guided",
    "diffusion_loss", "PREDICTIONS", "PROCESSES", "GaussianProcess", "build_process", "process_config", "DDPM", "VESDE",
    "VPSDE", "FlowMatching", "OUVESDE", "cosine_alpha_bars", "linear_betas", "SAMPLERS", "sample", "sample_ddim",
    "sample_ddpm", "sample_euler_maruyama", "sample_ode_adaptive", "sample_ode_euler", "sample_ode_heun", "sample_pc",
]
