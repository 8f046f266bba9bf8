"""Denoiser backbones: every registered backbone inherits the same checks (STYLE rule 6)."""

from __future__ import annotations

import pytest
import torch

from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.diffusion import NULL_LABEL, FlowMatching, diffusion_loss, null_condition
from diffs2st.errors import ConfigError
from diffs2st.nets.mlp import MLPDenoiser, MLPDenoiserConfig
from diffs2st.nets.unet1d import UNet1D, UNet1DConfig
from diffs2st.nets.unet2d import UNet2D, UNet2DConfig
from diffs2st.registry import MODELS


class BackboneChecks:
    """A backbone, an odd-sized input maker and two different conditions of the same structure."""

    def build(self) -> torch.nn.Module:
        raise NotImplementedError

    def inputs(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def condition(self, batch: int, generator: torch.Generator, variant: int):
        raise NotImplementedError

    def setup_method(self):
        torch.manual_seed(0)
        self.net = self.build().eval()
        generator = torch.Generator().manual_seed(1)
        self.x = self.inputs(2, generator)
        self.t = torch.tensor([0.3, 0.8])
        self.cond_a = self.condition(2, generator, 0)
        self.cond_b = self.condition(2, generator, 1)

    def test_output_has_the_input_shape_for_odd_sizes(self):
        out = self.net(self.x, self.t, self.cond_a)
        assert out.shape == self.x.shape and torch.isfinite(out).all()

    def test_condition_changes_the_output(self):
        with torch.no_grad():
            a, b = self.net(self.x, self.t, self.cond_a), self.net(self.x, self.t, self.cond_b)
        assert (a - b).abs().max() > 1e-4

    def test_time_changes_the_output(self):
        with torch.no_grad():
            a, b = self.net(self.x, self.t, self.cond_a), self.net(self.x, self.t.flip(0), self.cond_a)
        assert (a - b).abs().max() > 1e-4

    def test_none_condition_is_the_null_condition(self):
        with torch.no_grad():
            none, null = self.net(self.x, self.t, None), self.net(self.x, self.t, null_condition(self.cond_a))
        assert torch.allclose(none, null, atol=1e-5)

    def test_same_seed_same_network_same_output(self):
        torch.manual_seed(0)
        other = self.build().eval()
        with torch.no_grad():
            assert torch.equal(self.net(self.x, self.t, self.cond_a), other(self.x, self.t, self.cond_a))

    def test_checkpoint_round_trip(self, tmp_path):
        path = save_checkpoint(tmp_path / "ckpt", self.net, metrics={"note": "test"})
        loaded = load_checkpoint(path)
        assert type(loaded.model) is type(self.net) and loaded.config == self.net.config
        with torch.no_grad():
            assert torch.equal(loaded.model(self.x, self.t, self.cond_a), self.net(self.x, self.t, self.cond_a))

    def test_trains_with_the_diffusion_loss(self):
        self.net.train()
        loss = diffusion_loss(self.net, FlowMatching(), self.x, self.cond_a, cond_dropout=0.5,
                              generator=torch.Generator().manual_seed(0))
        loss.backward()
        grads = [p.grad for p in self.net.parameters() if p.requires_grad]
        assert torch.isfinite(loss) and sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > len(grads) // 2


class TestUNet2DLabelFiLM(BackboneChecks):
    def build(self):
        return UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2, 2), groups=4, num_classes=10))

    def inputs(self, batch, generator):
        return torch.randn(batch, 1, 19, 13, generator=generator)  # odd mels and frames

    def condition(self, batch, generator, variant):
        return torch.tensor([3, 7]) if variant == 0 else torch.tensor([4, NULL_LABEL])

    def test_prototype_default_widths(self):
        config = UNet2DConfig()
        assert config.dim == 32 and config.dim_mults == (1, 2, 2, 4)

    def test_bad_labels_and_keys_are_errors(self):
        with pytest.raises(ValueError, match="labels"):
            self.net(self.x, self.t, torch.tensor([10, 0]))
        with pytest.raises(ConfigError, match="unknown condition key"):
            self.net(self.x, self.t, {"lable": torch.tensor([1, 2])})


class TestUNet2DCoarseLinearAttention(TestUNet2DLabelFiLM):
    """The CPU layout: linear attention only from level 1 down (the digit recipe uses it from level 2)."""

    def build(self):
        return UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2, 2), groups=4, num_classes=10, linear_attention_from=1))

    def test_fine_levels_have_no_linear_attention(self):
        core = self.net.core
        with_attention = [not isinstance(level.attention, torch.nn.Identity) for level in core.down]
        assert with_attention == [False, True, True]
        assert [not isinstance(level.attention, torch.nn.Identity) for level in core.up] == [True, True, False]
        full = UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2, 2), groups=4, num_classes=10))
        assert sum(p.numel() for p in full.parameters()) > sum(p.numel() for p in self.net.parameters())

    def test_level_out_of_range_is_an_error(self):
        with pytest.raises(ValueError, match="linear_attention_from"):
            UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2), groups=4, linear_attention_from=3))


class TestUNet2DCrossAttention(BackboneChecks):
    def build(self):
        return UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2), groups=4, num_classes=10,
                                   label_mode="cross_attention", context_dim=16))

    def inputs(self, batch, generator):
        return torch.randn(batch, 1, 16, 21, generator=generator)

    def condition(self, batch, generator, variant):
        return torch.tensor([1, 2]) if variant == 0 else torch.tensor([5, 9])

    def test_attends_to_a_condition_sequence(self):
        sequence = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(3))
        mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
        base = {"label": self.cond_a, "sequence": sequence, "sequence_mask": mask}
        with torch.no_grad():
            out = self.net(self.x, self.t, base)
            changed_padding = self.net(self.x, self.t, {**base, "sequence": sequence.index_fill(
                1, torch.tensor([4]), 9.0)})
        # Example 1 masks position 4 out, so changing it there changes nothing; example 0 sees it.
        assert torch.allclose(out[1], changed_padding[1], atol=1e-6)
        assert (out[0] - changed_padding[0]).abs().max() > 1e-4


class TestUNet1D(BackboneChecks):
    channels, frames = 12, 37

    def build(self):
        return UNet1D(UNet1DConfig(channels=self.channels, prior_channels=self.channels, dim=16, dim_mults=(1, 2, 2),
                                   groups=4, global_dim=6, context_dim=10))

    def inputs(self, batch, generator):
        return torch.randn(batch, self.channels, self.frames, generator=generator)

    def condition(self, batch, generator, variant):
        return {"mu": torch.randn(batch, self.channels, self.frames, generator=generator),
                "global": torch.randn(batch, 6, generator=generator),
                "sequence": torch.randn(batch, 7, 10, generator=generator),
                "sequence_mask": torch.ones(batch, 7, dtype=torch.bool)}

    def test_each_condition_matters(self):
        with torch.no_grad():
            base = self.net(self.x, self.t, self.cond_a)
            for key in ("mu", "global", "sequence"):
                changed = {**self.cond_a, key: self.cond_b[key]}
                assert (self.net(self.x, self.t, changed) - base).abs().max() > 1e-4, key

    def test_frame_mask_zeroes_padding_and_isolates_real_frames(self):
        mask = torch.ones(2, self.frames)
        mask[1, 30:] = 0
        cond = {**self.cond_a, "mask": mask}
        noisy_padding = self.x.clone()
        noisy_padding[1, :, 30:] = 100.0
        with torch.no_grad():
            out, out_noisy = self.net(self.x, self.t, cond), self.net(noisy_padding, self.t, cond)
        assert out[1, :, 30:].abs().max() == 0
        assert torch.allclose(out[1, :, :30], out_noisy[1, :, :30], atol=1e-5)

    def test_wrong_shapes_are_clear_errors(self):
        with pytest.raises(ValueError, match="mu must have shape"):
            self.net(self.x, self.t, {"mu": torch.zeros(2, self.channels, 5)})
        with pytest.raises(ValueError, match="expected x of shape"):
            self.net(torch.zeros(2, 3, 8), self.t, None)


class TestMLPDenoiser(BackboneChecks):
    def build(self):
        return MLPDenoiser(MLPDenoiserConfig(dim=3, hidden=32, depth=2, num_classes=4))

    def inputs(self, batch, generator):
        return torch.randn(batch, 3, generator=generator)

    def condition(self, batch, generator, variant):
        return torch.tensor([0, 1]) if variant == 0 else torch.tensor([2, 3])


def test_backbones_are_registered_models():
    assert {"unet2d", "unet1d", "mlp-denoiser"} <= set(MODELS.names())
    assert {cls.__name__ for cls in BackboneChecks.__subclasses__()} >= {"TestUNet2DLabelFiLM", "TestUNet1D"}


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_unet2d_runs_inside_a_guided_ddpm_sampler(sampler):
    """The digit-model wiring: DDPM (integer times, time_scale 1), labels, classifier-free guidance, odd frames."""
    from diffs2st.diffusion import DDPM, ClassifierFreeGuidance, sample

    torch.manual_seed(0)
    net = UNet2D(UNet2DConfig(dim=8, dim_mults=(1, 2), groups=4, num_classes=10, time_scale=1.0)).eval()
    process = DDPM(num_steps=300)
    x_T = process.prior_sample((2, 1, 16, 11), generator=torch.Generator().manual_seed(0))
    seen = []
    x0 = sample(sampler, net, process, x_T, 4, cond=torch.tensor([1, 2]), guidance=ClassifierFreeGuidance(2.0),
                callback=lambda i, x, x0_hat: seen.append(i), generator=torch.Generator().manual_seed(0))
    assert x0.shape == x_T.shape and torch.isfinite(x0).all() and seen == [0, 1, 2, 3]


def test_build_backbone_from_config():
    from diffs2st.nets import build_backbone

    net = build_backbone("unet1d", {"channels": 8, "dim": 8, "dim_mults": [1, 2], "groups": 4})
    assert isinstance(net, UNet1D) and net.config.dim_mults == (1, 2)
    with pytest.raises(ConfigError, match="unknown key"):
        build_backbone("unet2d", {"dimm": 8})


def test_config_rejects_inconsistent_label_mode():
    with pytest.raises(ConfigError):
        UNet2DConfig(label_mode="cross_attention")
    with pytest.raises(ConfigError):
        UNet2DConfig(label_mode="concat")
