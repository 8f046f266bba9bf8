"""Every bundled checkpoint in pretrained/ loads under today's code: strict config (every field named, none
unknown) and strict weights (same names and shapes). A new bundle folder is covered without editing this file."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from diffs2st.checkpoint import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, load_checkpoint
from diffs2st.config import to_dict
from diffs2st.pretrained import pretrained_dir

PRETRAINED_DIR = pretrained_dir()
BUNDLES = sorted(path for path in PRETRAINED_DIR.iterdir() if path.is_dir()) if PRETRAINED_DIR.is_dir() else []


def test_the_bundles_are_there():
    # An empty list would leave the test below with nothing to check; a clone always has the bundles.
    assert BUNDLES, f"no bundled checkpoints under {PRETRAINED_DIR}"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda path: path.name)
def test_bundled_checkpoint_loads_strictly(bundle):
    for name in (CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE):
        assert (bundle / name).is_file(), f"{bundle.name}: {name} is missing"
    checkpoint = load_checkpoint(bundle)
    assert not checkpoint.model.training
    parameters = list(checkpoint.model.parameters())
    assert parameters and all(bool(torch.isfinite(p).all()) for p in parameters)
    # The stored config is exactly what today's config class writes back: no field added since the bundle was made
    # is filled in silently, and none is dropped.
    stored = yaml.safe_load((bundle / CONFIG_FILE).read_text())["config"]
    assert to_dict(checkpoint.config) == stored
    assert isinstance(json.loads((bundle / METRICS_FILE).read_text()), dict)
