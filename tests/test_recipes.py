"""The multi-stage recipes in recipes/ name configs and overrides that `diffs2st train` accepts, so a renamed config
key fails here rather than hours into a background run."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from diffs2st.training.tasks import load_run_config

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.sh"))
SHELL_VALUES = {"CORPUS": "corpora/synth-cvss-v2", "SYNTH_TRANSLATOR": "pretrained/st", "cache": "runs/x.safetensors",
                "SYNTH_RUN": "runs/x"}


def train_calls(script: Path) -> list[tuple[str, list[str]]]:
    """(config, --set overrides) of every `train CONFIG OUT ...` line of a recipe, shell variables filled in."""
    text = script.read_text().replace("\\\n", " ")
    calls = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("train configs/"):
            continue
        line = re.sub(r"\$\([^)]*\)", "", line)  # command substitutions (init_args) give flags, not overrides
        line = re.sub(r"\$\{?(\w+)\}?", lambda m: SHELL_VALUES[m.group(1)], line)
        words = shlex.split(line)
        overrides = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
        calls.append((words[1], overrides))
    return calls


@pytest.mark.parametrize("script", RECIPES, ids=lambda p: p.name)
def test_recipe_parses_and_its_overrides_fit_their_configs(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    calls = train_calls(script)
    assert calls, f"{script.name} trains nothing"
    for config, overrides in calls:
        load_run_config(ROOT / config, overrides)  # raises ConfigError on an unknown key or a wrong type


def test_an_unknown_override_is_caught(tmp_path):
    script = tmp_path / "bad.sh"
    script.write_text("train configs/speaker-encoder.yaml runs/x --set trainer.max_stepz=3\n")
    ((config, overrides),) = train_calls(script)
    with pytest.raises(Exception, match="max_stepz"):
        load_run_config(ROOT / config, overrides)
