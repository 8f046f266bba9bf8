"""Denoiser backbones: networks with the contract net(x_t, t, cond) -> prediction."""
