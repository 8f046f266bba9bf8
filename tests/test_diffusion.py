"""Diffusion core against exact answers: a 2-D Gaussian mixture whose noised versions are Gaussian mixtures again.

For x_t = a·x0 + c + s·ε and x0 ~ Σ_k π_k N(m_k, Σ_k), x_t ~ Σ_k π_k N(a m_k + c, a²Σ_k + s²I) and, with
responsibilities r_k(x_t) and C_k = a²Σ_k + s²I,
    E[x0 | x_t] = Σ_k r_k (m_k + a Σ_k C_k⁻¹ (x_t − a m_k − c)),
    E[ε | x_t] = Σ_k r_k s C_k⁻¹ (x_t − a m_k − c).
Every prediction type is affine in (x0, ε), so the exact denoiser of any process is `target(E[x0|x_t], E[ε|x_t])`.
"""

from __future__ import annotations

import math

import pytest
import torch

from diffs2st.diffusion import (DDPM, NULL_LABEL, OUVESDE, PROCESSES, SAMPLERS, VESDE, VPSDE, ClassifierFreeGuidance,
                                ClassifierGuidance, FlowMatching, GaussianProcess, build_process, diffusion_loss,
                                process_config,
                                drop_condition, null_condition, sample)
from diffs2st.errors import ConfigError

WEIGHTS = torch.tensor([0.3, 0.7], dtype=torch.float64)
MEANS = torch.tensor([[-2.0, 1.0], [1.5, -1.0]], dtype=torch.float64)
COVS = torch.tensor([[[0.5, 0.2], [0.2, 0.3]], [[0.3, -0.1], [-0.1, 0.6]]], dtype=torch.float64)
ANCHOR = torch.tensor([0.5, -0.5], dtype=torch.float64)  # y of the OU-VE process
# A "noisy label" condition: given label k, component k has probability 0.6 (not 1), so classifier-free guidance
# with w > 0 has room to sharpen p(x | c)^{1+w} p(x)^{-w} toward component k.
LABEL_CONFIDENCE = 0.6


def mixture_moments(weights=WEIGHTS):
    mean = (weights[:, None] * MEANS).sum(0)
    second = (weights[:, None, None] * (COVS + MEANS[:, :, None] * MEANS[:, None, :])).sum(0)
    return mean, second - torch.outer(mean, mean)


def sample_mixture(n, generator, weights=WEIGHTS):
    component = torch.multinomial(weights, n, replacement=True, generator=generator)
    chol = torch.linalg.cholesky(COVS)[component]
    z = torch.randn(n, 2, 1, generator=generator, dtype=torch.float64)
    return MEANS[component] + (chol @ z)[..., 0]


def noised_posterior(process, x, t, log_weights):
    """(responsibilities (n, K), E[x0|x_t] (n, 2), E[ε|x_t] (n, 2)) for per-example log mixture weights (n, K)."""
    c = process.offset(t, x)
    if bool((t == t[0]).all()):
        t = t[:1]  # samplers pass one time for the whole batch: invert the K covariances once, not n·K times
    a, s = process.coefficients(t)
    a, s = a.to(x.dtype)[:, None, None, None], s.to(x.dtype)[:, None, None, None]
    centred = (x - c)[:, None, :, None] - a * MEANS[None, :, :, None]  # (n, K, 2, 1)
    cov = a * a * COVS[None] + s * s * torch.eye(2, dtype=x.dtype)  # (n or 1, K, 2, 2)
    solved = torch.linalg.inv(cov) @ centred
    log_density = -0.5 * (centred * solved).sum((-1, -2)) - 0.5 * torch.logdet(cov) - math.log(2 * math.pi)
    resp = torch.softmax(log_weights + log_density, dim=-1)
    x0_k = MEANS[None] + (a * COVS[None] @ solved)[..., 0]
    eps_k = (s * solved)[..., 0]
    return resp, (resp[..., None] * x0_k).sum(1), (resp[..., None] * eps_k).sum(1)


def label_log_weights(cond, n):
    """Log mixture weights per example: the prior for no/null label, LABEL_CONFIDENCE on the labelled component."""
    prior = WEIGHTS.log().expand(n, 2)
    if cond is None:
        return prior
    labelled = torch.full((n, 2), math.log((1 - LABEL_CONFIDENCE)))
    labelled[torch.arange(n), cond.clamp_min(0)] = math.log(LABEL_CONFIDENCE)
    return torch.where((cond == NULL_LABEL)[:, None], prior, labelled.to(prior.dtype))


def exact_denoiser(process):
    def denoiser(x, t, cond):
        _, x0, eps = noised_posterior(process, x, t, label_log_weights(cond, len(x)))
        return process.from_x0_epsilon(x0, eps, t)

    return denoiser


def exact_classifier(process):
    def classifier(x, t):
        resp, _, _ = noised_posterior(process, x, t, WEIGHTS.log().expand(len(x), 2))
        return resp.log()

    return classifier


def fraction_in_first_component(x):
    resp, _, _ = noised_posterior(VESDE(), x, torch.zeros(len(x), dtype=x.dtype), WEIGHTS.log().expand(len(x), 2))
    return float((resp[:, 0] > 0.5).double().mean())


def ouve():
    return OUVESDE().bind(ANCHOR.expand(1, 2))


def bind_batch(process, n):
    return process.bind(ANCHOR.expand(n, 2).clone()) if isinstance(process, OUVESDE) else process


def start_from_marginal(process, grid, n, generator, label=None):
    """x_T drawn from the exact noised mixture (given ``label``, the labelled mixture) at the first grid time; this
    isolates the sampler's error from the prior mismatch of the process (VE's N(0, s(1)²) ignores the data mean;
    OU-VE's prior ignores the e^{-γ}x0 ≈ 0.22·x0 still in x_1, so its start must know the label)."""
    weights = WEIGHTS if label is None else label_log_weights(torch.tensor([label]), 1)[0].exp()
    x0 = sample_mixture(n, generator, weights)
    t = grid[:1].expand(n)
    return process.perturb(x0, t, torch.randn(n, 2, generator=generator, dtype=torch.float64))


class SamplerChecks:
    """Every sampler × process pair inherits these checks (STYLE rule 6)."""

    sampler: str
    steps: int | None
    options: dict = {}
    n_samples = 4000

    def make_process(self) -> GaussianProcess:
        raise NotImplementedError

    def run(self, n, seed, cond=None, guidance=None, callback=None, steps=None, **extra):
        generator = torch.Generator().manual_seed(seed)
        process = bind_batch(self.make_process(), n)
        steps = steps or self.steps
        grid = process.time_grid(steps or 10)
        x_T = start_from_marginal(process, grid, n, generator, None if cond is None else int(cond[0]))
        return sample(self.sampler, exact_denoiser(process), process, x_T, steps, cond=cond,
                      guidance=guidance, callback=callback, generator=generator, **{**self.options, **extra})

    def test_reproduces_mixture_mean_and_covariance(self):
        # 4000 samples: the standard error of a mean coordinate is ≈ 1.6/√4000 ≈ 0.025 and of a covariance entry
        # ≈ 0.06, so 0.1 on means and 0.2 on covariances is about 4 standard errors plus room for the sampler's
        # discretisation error; a wrong conversion or step rule moves these by far more (checked by hand: a
        # missing factor 2 in g² or a sign error in the drift shifts the covariance by > 1).
        x = self.run(self.n_samples, seed=0)
        mean, cov = mixture_moments()
        assert torch.isfinite(x).all()
        assert torch.allclose(x.mean(0), mean, atol=0.1), (x.mean(0), mean)
        assert torch.allclose(torch.cov(x.T), cov, atol=0.2), (torch.cov(x.T), cov)

    def test_same_seed_same_samples(self):
        assert torch.equal(self.run(64, seed=3), self.run(64, seed=3))

    def test_callback_sees_every_step(self):
        calls = []
        self.run(8, seed=1, callback=lambda i, x, x0: calls.append((i, x.shape, x0.shape)))
        assert calls and [c[0] for c in calls] == list(range(len(calls)))
        assert all(x_shape == x0_shape == (8, 2) for _, x_shape, x0_shape in calls)
        if self.steps is not None:
            assert len(calls) == self.steps

    @property
    def guidance_steps(self):
        # Guidance only has to move mass in the right direction, so half the steps keep these tests quick.
        return None if self.steps is None else max(self.steps // 2, 10)

    def test_classifier_free_guidance_moves_mass_to_the_label(self):
        n = 1000
        labels = torch.zeros(n, dtype=torch.long)
        plain = fraction_in_first_component(self.run(n, seed=5, cond=labels, steps=self.guidance_steps))
        pushed = fraction_in_first_component(self.run(n, seed=5, cond=labels, steps=self.guidance_steps,
                                                      guidance=ClassifierFreeGuidance(3.0)))
        assert abs(plain - LABEL_CONFIDENCE) < 0.07, plain  # w = 0 samples p(x | c) itself
        assert pushed > plain + 0.1, (plain, pushed)  # ≥ 6 standard errors of a fraction over 1000

    def test_classifier_guidance_moves_mass_to_the_class(self):
        n = 1000
        process = bind_batch(self.make_process(), n)
        plain = fraction_in_first_component(self.run(n, seed=6, steps=self.guidance_steps))
        guidance = ClassifierGuidance(exact_classifier(process), scale=3.0, label=0)
        pushed = fraction_in_first_component(self.run(n, seed=6, steps=self.guidance_steps, guidance=guidance))
        assert abs(plain - WEIGHTS[0].item()) < 0.07, plain
        assert pushed > plain + 0.1, (plain, pushed)  # ≥ 6 standard errors of a fraction over 1000


class TestDDPMAncestral(SamplerChecks):
    sampler, steps = "ddpm", 250  # ancestral steps on every 4th time of T = 1000 (still the exact posterior)

    def make_process(self):
        return DDPM(num_steps=1000, schedule="linear", prediction="epsilon")


class TestDDIMCosineV(SamplerChecks):
    sampler, steps, options = "ddim", 100, {"eta": 0.0}

    def make_process(self):
        return DDPM(num_steps=1000, schedule="cosine", prediction="v")


class TestDDIMStochasticOnVP(SamplerChecks):
    sampler, steps, options = "ddim", 200, {"eta": 0.5}

    def make_process(self):
        return VPSDE(prediction="x0")


class TestAncestralOnOUVE(SamplerChecks):
    """DDIM/ancestral steps with a non-zero mean offset c(t) = (1 − e^{-γt})y."""
    sampler, steps = "ddpm", 100

    def make_process(self):
        return OUVESDE(prediction="v")


class TestPredictorCorrectorOUVE(SamplerChecks):
    """The reverse-diffusion predictor's offset terms −c_t + k·c_{t'}."""
    sampler, steps = "pc", 200

    def make_process(self):
        return OUVESDE(prediction="epsilon")


class TestEulerMaruyamaVE(SamplerChecks):
    sampler, steps = "euler_maruyama", 500

    def make_process(self):
        return VESDE()


class TestEulerMaruyamaVP(SamplerChecks):
    sampler, steps = "euler_maruyama", 500

    def make_process(self):
        return VPSDE(prediction="epsilon")


class TestEulerMaruyamaOUVE(SamplerChecks):
    sampler, steps = "euler_maruyama", 300

    def make_process(self):
        return OUVESDE(prediction="score")


class TestPredictorCorrectorVE(SamplerChecks):
    sampler, steps, options = "pc", 300, {"snr": 0.16}

    def make_process(self):
        return VESDE()


class TestPredictorCorrectorVPEulerMaruyama(SamplerChecks):
    sampler, steps, options = "pc", 300, {"predictor": "euler_maruyama"}

    def make_process(self):
        return VPSDE(prediction="v")


class TestODEHeunVE(SamplerChecks):
    sampler, steps = "ode_heun", 100

    def make_process(self):
        return VESDE()


class TestODEHeunOUVE(SamplerChecks):
    sampler, steps = "ode_heun", 50

    def make_process(self):
        return OUVESDE(prediction="epsilon")


class TestODEAdaptiveVE(SamplerChecks):
    sampler, steps, options = "ode_adaptive", None, {"rtol": 1e-5, "atol": 1e-5}
    n_samples = 2000  # one solve over all samples at once; the error-controlled step count grows with the batch

    def make_process(self):
        return VESDE()


class TestFlowEuler(SamplerChecks):
    sampler, steps = "ode_euler", 200

    def make_process(self):
        return FlowMatching()


class TestFlowHeunSigmaMin(SamplerChecks):
    sampler, steps = "ode_heun", 30

    def make_process(self):
        return FlowMatching(sigma_min=1e-3)


# --- processes ---------------------------------------------------------------------------------------------------
ALL_PROCESSES = {
    "ddpm-linear": lambda p: DDPM(prediction=p), "ddpm-cosine": lambda p: DDPM(schedule="cosine", prediction=p),
    "ve": lambda p: VESDE(prediction=p), "vp": lambda p: VPSDE(prediction=p),
    "ouve": lambda p: OUVESDE(prediction=p).bind(ANCHOR.expand(16, 2).clone()),
    "flow": lambda p: FlowMatching(prediction=p),
    "flow-sigma-min": lambda p: FlowMatching(sigma_min=0.01, prediction=p),
}
CONTINUOUS = [k for k in ALL_PROCESSES if not k.startswith("ddpm")]


def random_times(process, n, generator):
    if process.discrete:
        return process.sample_time(n, generator=generator)
    # Stay inside (t_min, t_max): at the ends s or a can be exactly 0 where some conversions are undefined.
    return (0.02 + 0.96 * torch.rand(n, generator=generator, dtype=torch.float64)) * process.t_max


@pytest.mark.parametrize("name", ALL_PROCESSES)
@pytest.mark.parametrize("kind", ["epsilon", "x0", "v", "velocity", "score"])
def test_prediction_round_trips(name, kind):
    if name.startswith("ddpm") and kind == "velocity":
        with pytest.raises(ConfigError):
            ALL_PROCESSES[name](kind)
        return
    generator = torch.Generator().manual_seed(0)
    process = ALL_PROCESSES[name](kind)
    x0, eps = torch.randn(2, 16, 2, generator=generator, dtype=torch.float64)
    t = random_times(process, 16, generator)
    x_t = process.perturb(x0, t, eps)
    x0_back, eps_back = process.split(process.target(x0, eps, t), x_t, t)
    assert torch.allclose(x0_back, x0, atol=1e-9) and torch.allclose(eps_back, eps, atol=1e-9)
    # A chain through every other type comes back to the start.
    prediction = process.target(x0, eps, t)
    value, current = prediction, process.prediction
    for other in ["epsilon", "x0", "v", "score"] + ([] if process.discrete else ["velocity"]):
        value = process.with_prediction(current).convert(value, x_t, t, to=other)
        current = other
    back = process.with_prediction(current).convert(value, x_t, t, to=process.prediction)
    assert torch.allclose(back, prediction, atol=1e-8)


@pytest.mark.parametrize("name", CONTINUOUS)
def test_time_derivatives_match_finite_differences(name):
    process = ALL_PROCESSES[name]("epsilon")
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-6
    (a_plus, s_plus), (a_minus, s_minus) = process.coefficients(t + h), process.coefficients(t - h)
    da, ds = process.derivatives(t)
    assert torch.allclose(da, (a_plus - a_minus) / (2 * h), rtol=1e-5, atol=1e-7)
    assert torch.allclose(ds, (s_plus - s_minus) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["ve", "vp", "ouve"])
def test_stated_sde_agrees_with_the_marginals(name):
    """The SDE a process states (f, g) must generate its marginals: g² = d(s²)/dt − 2(a'/a)s²,
    f = (a'/a)(x−c)+c'."""
    process = ALL_PROCESSES[name]("epsilon")
    t = torch.linspace(0.05, 0.95, 16, dtype=torch.float64)
    x = torch.randn(16, 2, dtype=torch.float64)
    assert torch.allclose(process.diffusion(t), GaussianProcess.diffusion(process, t), rtol=1e-9)
    assert torch.allclose(process.drift(x, t), GaussianProcess.drift(process, x, t), rtol=1e-9, atol=1e-12)


def test_processes_start_at_the_data():
    zero = torch.zeros(1, dtype=torch.float64)
    for process in (VESDE(), VPSDE(), OUVESDE(), FlowMatching()):
        a, s = process.coefficients(zero)
        assert float(a) == pytest.approx(1.0) and float(s) == pytest.approx(0.0, abs=1e-12)
    a, s = DDPM().coefficients(torch.tensor([-1]))
    assert float(a) == 1.0 and float(s) == 0.0


def test_ve_matches_the_tutorial_numbers():
    # Song's tutorial: marginal_prob_std(1) = sqrt((σ² − 1) / (2 ln σ)) with σ = 25 → 9.843...
    _, s = VESDE().coefficients(torch.ones(1, dtype=torch.float64))
    assert float(s) == pytest.approx(math.sqrt(624 / (2 * math.log(25))), rel=1e-12)
    assert float(VESDE().diffusion(torch.tensor([0.5], dtype=torch.float64))) == pytest.approx(5.0)


def test_ddpm_schedules():
    linear = DDPM(num_steps=300)
    assert float(1 - linear.alpha_bars[1]) == pytest.approx(1e-4)
    bars = DDPM(schedule="cosine").alpha_bars
    assert bool((bars[1:] < bars[:-1]).all()) and float(bars[-1]) < 1e-3
    grid = linear.time_grid(50)
    assert grid[0] == 299 and grid[-2] == 0 and grid[-1] == -1 and len(grid) == 51


def test_prior_sample_has_the_prior_spread():
    x = VESDE().prior_sample((20000, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert float(x.std()) == pytest.approx(math.sqrt(624 / (2 * math.log(25))), rel=0.02)
    y = torch.full((20000, 2), 3.0, dtype=torch.float64)
    x = OUVESDE().bind(y).prior_sample((20000, 2), dtype=torch.float64)
    assert float(x.mean()) == pytest.approx(3.0, abs=0.02)


def test_build_process_from_config_is_strict():
    assert isinstance(build_process({"name": "ve", "sigma": 10.0}), VESDE)
    assert set(PROCESSES.names()) >= {"ddpm", "ve", "vp", "ouve", "flow"}
    with pytest.raises(ConfigError, match="unknown key"):
        build_process({"name": "vp", "beta_mn": 0.1})
    with pytest.raises(ConfigError, match="unknown diffusion process"):
        build_process({"name": "nope"})
    with pytest.raises(ConfigError):
        VESDE(prediction="noise")
    for process in (DDPM(schedule="cosine", prediction="v"), OUVESDE(gamma=2.0).bind(torch.zeros(1, 2)),
                    FlowMatching(sigma_min=0.01)):
        config = process_config(process)
        assert "anchor" not in config and process_config(build_process(config)) == config


def test_ouve_without_anchor_is_a_clear_error():
    with pytest.raises(ConfigError, match="bind"):
        OUVESDE().perturb(torch.zeros(2, 2), torch.full((2,), 0.5), torch.zeros(2, 2))


def test_sde_samplers_reject_processes_without_an_sde():
    x = torch.zeros(4, 2)
    with pytest.raises(ConfigError, match="no SDE"):
        sample("euler_maruyama", lambda x, t, c: x, FlowMatching(), x, 10)
    with pytest.raises(ConfigError, match="discrete"):
        sample("ode_heun", lambda x, t, c: x, DDPM(), x, 10)
    with pytest.raises(ConfigError, match="either steps or timesteps"):
        sample("ddim", lambda x, t, c: x, DDPM(), x)


def test_a_custom_time_grid_starts_partway():
    """Enhancement-style sampling: start at t = 0.3 from a perturbed input and integrate back."""
    process = VPSDE()
    generator = torch.Generator().manual_seed(0)
    grid = torch.linspace(0.3, process.t_min, 60, dtype=torch.float64)
    x_T = start_from_marginal(process, grid, 3000, generator)
    x = sample("ode_heun", exact_denoiser(process), process, x_T, timesteps=grid)
    mean, cov = mixture_moments()
    assert torch.allclose(x.mean(0), mean, atol=0.1) and torch.allclose(torch.cov(x.T), cov, atol=0.2)


# --- conditioning and loss ---------------------------------------------------------------------------------------
def test_drop_condition_convention():
    labels = torch.tensor([3, 1, 2])
    drop = torch.tensor([True, False, True])
    assert drop_condition(labels, drop).tolist() == [NULL_LABEL, 1, NULL_LABEL]
    cond = {"speaker": torch.ones(3, 4), "mu": torch.ones(3, 2, 5), "mask": torch.ones(3, 5, dtype=torch.bool)}
    dropped = drop_condition(cond, drop, keys=("speaker",))
    assert dropped["speaker"].sum(1).tolist() == [0, 4, 0] and torch.equal(dropped["mu"], cond["mu"])
    assert torch.equal(null_condition(cond)["mask"], cond["mask"]) and null_condition(cond)["mu"].abs().sum() == 0
    assert null_condition(None) is None


def test_loss_is_smallest_for_the_exact_denoiser_and_respects_options():
    generator = torch.Generator().manual_seed(0)
    x0 = sample_mixture(2048, generator)
    for process in (DDPM(), VESDE(prediction="epsilon"), FlowMatching()):
        exact = exact_denoiser(process)
        wrong = lambda x, t, c, d=exact: 1.1 * d(x, t, c)  # noqa: E731
        kwargs = dict(generator=torch.Generator().manual_seed(1))
        assert diffusion_loss(exact, process, x0, **kwargs) < diffusion_loss(wrong, process, x0,
                                                                             generator=torch.Generator().manual_seed(1))
    seen = []
    record = lambda x, t, c: (seen.append(c), torch.zeros_like(x))[1]  # noqa: E731
    labels = torch.ones(4000, dtype=torch.long)
    diffusion_loss(record, DDPM(), torch.zeros(4000, 2), labels, cond_dropout=0.25,
                   generator=torch.Generator().manual_seed(0))
    assert 0.2 < float((seen[-1] == NULL_LABEL).double().mean()) < 0.3
    mask = torch.zeros(4, 1, 6)
    mask[..., :3] = 1
    zero_on_real = lambda x, t, c: torch.cat([torch.zeros_like(x[..., :3]),  # noqa: E731
                                              1e6 * torch.ones_like(x[..., 3:])], -1)
    target_zero = DDPM(prediction="x0")
    assert float(diffusion_loss(zero_on_real, target_zero, torch.zeros(4, 1, 6), mask=mask)) == 0.0
    assert float(diffusion_loss(zero_on_real, target_zero, torch.zeros(4, 1, 6), loss="huber")) < 1e6
    with pytest.raises(ConfigError):
        diffusion_loss(zero_on_real, target_zero, torch.zeros(4, 1, 6), loss="l7")


def test_loss_space_gives_the_tutorial_weighting_for_score_networks():
    """VE with a score network: loss_space="epsilon" is Song's ‖s·score + z‖², i.e. s² × the raw score MSE."""
    process = VESDE()
    x0, noise = torch.randn(2, 64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.full((64,), 0.01, dtype=torch.float64)
    zero_score = lambda x, t, c: torch.zeros_like(x)  # noqa: E731
    _, s = process.coefficients(t[:1])
    raw = diffusion_loss(zero_score, process, x0, t=t, noise=noise)
    weighted = diffusion_loss(zero_score, process, x0, t=t, noise=noise, loss_space="epsilon")
    assert float(weighted) == pytest.approx(float(noise.pow(2).mean()), rel=1e-9)
    assert float(weighted) == pytest.approx(float(raw * s ** 2), rel=1e-9)


def test_every_registered_sampler_is_exercised():
    covered = {cls.sampler for cls in SamplerChecks.__subclasses__()}
    assert covered == set(SAMPLERS.names())


# --- a tiny learned model ----------------------------------------------------------------------------------------
def test_small_mlp_learns_the_mixture_with_flow_matching():
    from diffs2st.nets.mlp import MLPDenoiser, MLPDenoiserConfig

    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    process = FlowMatching()
    net = MLPDenoiser(MLPDenoiserConfig(dim=2, hidden=128, depth=3))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    data = sample_mixture(60000, generator).float()
    for step in range(500):
        batch = data[torch.randint(0, len(data), (256,), generator=generator)]
        loss = diffusion_loss(net, process, batch, generator=generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    evaluations = []

    def counted(*args, **kwargs):
        evaluations.append(1)
        return net(*args, **kwargs)

    x = sample("ode_heun", counted, process, process.prior_sample((2000, 2), generator=generator), 30).double()
    # The cost is fixed by counts, not by a wall clock a loaded machine would break: 500 training steps above and
    # Heun's two network evaluations per step here.
    assert len(evaluations) == 2 * 30
    nearest = torch.cdist(x, MEANS).min(1).values
    # The component std is ≤ 0.8, so a sample more than 1.6 from both means is a > 2σ outlier; a model that had
    # not learned the modes (e.g. noise) would put most samples there.
    assert float((nearest < 1.6).double().mean()) > 0.85
    assert torch.allclose(x.mean(0), mixture_moments()[0], atol=0.3)
    assert abs(fraction_in_first_component(x) - 0.3) < 0.1


def test_classifier_guidance_is_off_where_the_signal_is_below_min_signal():
    """Near zero terminal SNR the guided x0̂ shift s²δ/a explodes; min_signal switches guidance off there only."""
    process = DDPM(num_steps=50, schedule="cosine", prediction="v")

    def denoiser(x, t, cond):
        return torch.zeros_like(x)

    def classifier(x, t):
        return torch.stack([x.sum(dim=-1), -x.sum(dim=-1)], dim=-1)

    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    early, late = torch.full((4,), 49), torch.full((4,), 10)
    assert float(process.coefficients(early[:1])[0]) < 0.05 < float(process.coefficients(late[:1])[0])
    guarded = ClassifierGuidance(classifier, scale=2.0, label=0, min_signal=0.05).wrap(denoiser, process)
    plain = ClassifierGuidance(classifier, scale=2.0, label=0).wrap(denoiser, process)
    assert torch.equal(guarded(x, early, None), denoiser(x, early, None))
    assert torch.equal(guarded(x, late, None), plain(x, late, None))
    x0_shift = process.convert(plain(x, early, None), x, early, to="x0") - process.convert(
        denoiser(x, early, None), x, early, to="x0")
    assert x0_shift.abs().max() > 50  # what the guard prevents
    mixed = torch.tensor([49, 49, 10, 10])
    out = guarded(x, mixed, None)
    assert torch.equal(out[:2], denoiser(x, mixed, None)[:2]) and torch.equal(out[2:], plain(x, mixed, None)[2:])


def test_classifier_free_guidance_in_one_doubled_call_equals_two_calls():
    """The guided prediction from one call on [cond; null] equals (1 + w)·D(x | c) − w·D(x | null) from two calls,
    and only the entries named in drop_keys are nulled (the frame prior stays in both halves)."""
    torch.manual_seed(0)
    calls = []

    def denoiser(x, t, cond):
        calls.append(x.shape[0])
        return torch.tanh(x * cond["mu"] + cond["global"][:, :, None] + t[:, None, None])

    x, t = torch.randn(3, 4, 5), torch.rand(3)
    cond = {"mu": torch.randn(3, 4, 5), "global": torch.randn(3, 4), "mask": torch.ones(3, 5, dtype=torch.bool)}
    guided = ClassifierFreeGuidance(2.0, drop_keys=("global",)).wrap(denoiser, None)(x, t, cond)
    null = {**cond, "global": torch.zeros(3, 4)}
    expected = 3.0 * denoiser(x, t, cond) - 2.0 * denoiser(x, t, null)
    torch.testing.assert_close(guided, expected)
    assert calls[0] == 6  # one call, doubled batch
