"""Checkpoint directories: exact round trip, fp16 storage, strict config and weights, never unpickling."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from diffs2st.checkpoint import load_checkpoint, save_checkpoint
from diffs2st.errors import CheckpointError, ConfigError
from diffs2st.training.toy import ToyRegressor, ToyRegressorConfig


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ToyRegressor(ToyRegressorConfig(in_dim=4, hidden=8, out_dim=3)).eval()


def test_round_trip_gives_identical_outputs(tmp_path, model):
    x = torch.randn(5, 4)
    save_checkpoint(tmp_path / "ckpt", model, {"loss": 0.25, "command": "pytest"})
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.yaml", "metrics.json",
                                                                     "model.safetensors"]
    assert loaded.config == model.config and loaded.metrics["loss"] == 0.25
    assert torch.equal(loaded.model(x), model(x))


def test_half_precision_storage(tmp_path, model):
    save_checkpoint(tmp_path / "half", model, half=True)
    full = (tmp_path / "half" / "model.safetensors").stat().st_size
    loaded = load_checkpoint(tmp_path / "half").model
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.randn(5, 4)
    torch.testing.assert_close(loaded(x), model(x), atol=5e-3, rtol=5e-3)
    save_checkpoint(tmp_path / "full", model)
    assert full < (tmp_path / "full" / "model.safetensors").stat().st_size


def test_overwrite_is_atomic_and_leaves_no_staging(tmp_path, model):
    save_checkpoint(tmp_path / "c", model, {"v": 1})
    save_checkpoint(tmp_path / "c", model, {"v": 2})
    assert json.loads((tmp_path / "c" / "metrics.json").read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["c"]


def _edit_config(path, edit):
    data = yaml.safe_load((path / "config.yaml").read_text())
    edit(data)
    (path / "config.yaml").write_text(yaml.safe_dump(data))


def test_unknown_or_missing_config_keys_are_named(tmp_path, model):
    save_checkpoint(tmp_path / "c", model)
    _edit_config(tmp_path / "c", lambda d: d["config"].update(hiddn=3))
    with pytest.raises(ConfigError, match="unknown key 'hiddn'"):
        load_checkpoint(tmp_path / "c")
    save_checkpoint(tmp_path / "d", model)
    _edit_config(tmp_path / "d", lambda d: d["config"].pop("in_dim"))
    with pytest.raises(ConfigError, match="missing key 'in_dim'"):
        load_checkpoint(tmp_path / "d")
    save_checkpoint(tmp_path / "e", model)
    _edit_config(tmp_path / "e", lambda d: d.update(model="no-such-model"))
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        load_checkpoint(tmp_path / "e")


def test_weights_that_do_not_fit_the_config(tmp_path, model):
    save_checkpoint(tmp_path / "c", model)
    _edit_config(tmp_path / "c", lambda d: d["config"].update(hidden=16))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(tmp_path / "c")
    (tmp_path / "c" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_checkpoint(tmp_path / "c")
    with pytest.raises(CheckpointError, match="no checkpoint directory"):
        load_checkpoint(tmp_path / "absent")


def test_a_pickle_in_place_of_weights_is_rejected(tmp_path, model):
    save_checkpoint(tmp_path / "c", model)
    torch.save(model.state_dict(), tmp_path / "c" / "model.safetensors")  # a pickle with the right name
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "c")


def test_bundle_command_writes_fp16_with_recipe(tmp_path, model):
    from diffs2st.cli.main import main

    save_checkpoint(tmp_path / "run", model, {"steps": 10})
    assert main(["bundle", str(tmp_path / "run"), str(tmp_path / "bundled"), "--recipe", "train 10 steps"]) == 0
    bundled = load_checkpoint(tmp_path / "bundled")
    assert bundled.metrics == {"steps": 10, "recipe": "train 10 steps"}
    weights = (tmp_path / "bundled" / "model.safetensors").stat().st_size
    assert weights < (tmp_path / "run" / "model.safetensors").stat().st_size
    assert main(["bundle", str(tmp_path / "run"), str(tmp_path / "run")]) == 2  # refuses to overwrite itself
    assert main(["bundle", str(tmp_path / "missing"), str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
