"""Packaging: the bundled checkpoints are found through DIFFS2ST_PRETRAINED (read at call time) or --model, a missing
one is a one-line error, and a regular (non-editable) `pip install .` gives a working `diffs2st` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from diffs2st.audio import MelConfig, save_audio
from diffs2st.cli.main import main
from diffs2st.errors import CheckpointError
from diffs2st.pretrained import ENVIRONMENT_VARIABLE, bundled, default_vocoder, model_or_bundled, require_bundled

ROOT = Path(__file__).parents[1]


def test_pretrained_folder_follows_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert bundled("st") == ROOT / "pretrained" / "st"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path))
    assert bundled("st") == tmp_path / "st"
    assert default_vocoder() == "griffin-lim"  # no vocoder in the empty folder
    assert model_or_bundled("my/model", "st") == Path("my/model")
    with pytest.raises(CheckpointError, match=f"no bundled model 'st' at {tmp_path / 'st'} .*{ENVIRONMENT_VARIABLE}"):
        require_bundled("st")


def test_a_missing_bundled_model_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "nowhere"))
    wave = save_audio(tmp_path / "x.wav", np.zeros(1600, np.float32), MelConfig().sample_rate)
    assert main(["transcribe", str(wave)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: no bundled model 'st'") and ENVIRONMENT_VARIABLE in error and "\n" not in error


@pytest.mark.slow
def test_regular_pip_install_gives_a_working_command(tmp_path):
    """`pip install .` (not editable) into a fresh venv: `diffs2st --help` runs from the installed copy, and without
    DIFFS2ST_PRETRAINED a command that needs a bundled model says how to point at one. No network: the venv sees the
    project venv's packages (torch and the rest) through a path file and builds without isolation."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "diffs2st", source / "diffs2st", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # a path line only: the project venv's own .pth files (its editable diffs2st) are not processed
    (Path(site) / "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    environment = {k: v for k, v in os.environ.items() if k not in (ENVIRONMENT_VARIABLE, "PYTHONPATH")}
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--ignore-installed", "--no-index", str(source)], check=True, env=environment, cwd=tmp_path)

    installed = subprocess.run([str(python), "-c", "import diffs2st; print(diffs2st.__file__)"], check=True,
                               capture_output=True, text=True, env=environment, cwd=tmp_path).stdout.strip()
    assert Path(installed).is_relative_to(Path(site))
    helped = subprocess.run([str(venv / "bin" / "diffs2st"), "--help"], capture_output=True, text=True,
                            env=environment, cwd=tmp_path)
    assert helped.returncode == 0 and "transcribe" in helped.stdout
    wave = save_audio(tmp_path / "x.wav", np.zeros(1600, np.float32), MelConfig().sample_rate)
    failed = subprocess.run([str(venv / "bin" / "diffs2st"), "transcribe", str(wave)], capture_output=True,
                            text=True, env=environment, cwd=tmp_path)
    assert failed.returncode == 2 and f"error: no bundled model 'st'" in failed.stderr
    assert ENVIRONMENT_VARIABLE in failed.stderr
