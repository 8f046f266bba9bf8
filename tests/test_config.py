"""Typed configs: a typo, a missing key or a wrong type is an error that names the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from diffs2st.audio import MelConfig
from diffs2st.config import apply_override, from_dict, load_config, to_dict
from diffs2st.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    width: int
    rate: float = 0.5


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    mode: Literal["fast", "slow"] = "fast"
    sizes: tuple[int, ...] = (1, 2)
    note: Optional[str] = None
    mel: MelConfig = field(default_factory=MelConfig)


def test_round_trip():
    config = from_dict(Outer, {"name": "a", "inner": {"width": 3}, "sizes": [4, 5], "mel": {"n_mels": 64}})
    assert config.inner == Inner(3, 0.5) and config.sizes == (4, 5) and config.mel.n_mels == 64
    assert from_dict(Outer, to_dict(config)) == config


@pytest.mark.parametrize("data,message", [
    ({"name": "a", "inner": {"width": 3, "widht": 4}}, "unknown key 'widht'"),
    ({"name": "a", "inner": {}}, "missing key 'width'"),
    ({"name": "a", "inner": {"width": "3"}}, "Outer.inner.width: expected an integer"),
    ({"name": "a", "inner": {"width": True}}, "expected an integer"),
    ({"name": "a", "inner": {"width": 3}, "mode": "medium"}, "not one of 'fast', 'slow'"),
    ({"name": "a", "inner": {"width": 3}, "mel": {"f_max": 12000.0}}, "f_max"),
    ({"name": "a", "inner": {"width": 3}, "sizes": [1, "x"]}, r"sizes\[1\]"),
])
def test_errors_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_yaml_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ninner:\n  width: 2\n")
    assert load_config(Outer, path, ["inner.rate=0.25", "mode=slow"]) == Outer("x", Inner(2, 0.25), "slow")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_config(Outer, path, ["colour=red"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_override({}, "no-equals-sign")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Outer, tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(Outer, tmp_path / "absent.yaml")


def test_shipped_configs_are_valid():
    from pathlib import Path

    from diffs2st.training.tasks import load_run_config

    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert configs, "configs/ is empty"
    for path in configs:
        load_run_config(path)
