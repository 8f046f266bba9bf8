"""Training harness: kill/resume equals an uninterrupted run; DDP on 2 CPU processes equals one process."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from diffs2st.checkpoint import initialize_from, load_checkpoint, save_checkpoint
from diffs2st.cli.main import main
from diffs2st.errors import CheckpointError, ConfigError, Diffs2stError
from diffs2st.training.ema import EMA
from diffs2st.training.harness import StepBatchSampler, TrainerConfig, learning_rate_factor, train
from diffs2st.training.tasks import build_run, load_run_config
from diffs2st.vocoders.istft import ISTFTVocoder, ISTFTVocoderConfig
from diffs2st.vocoders.task import VocoderGAN, VocoderTrainingConfig

CONFIG = Path(__file__).parents[1] / "configs" / "toy.yaml"
QUIET = ["trainer.progress_bar=false"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "diffs2st", "train", str(CONFIG), *args]


def run_in_process(run_dir: Path, overrides: list[str], resume: bool = False):
    config = load_run_config(CONFIG, QUIET + overrides)
    model, dataset, collate = build_run(config)
    return train(model, dataset, config.trainer, run_dir, resume=resume, collate_fn=collate)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "model" / "model.safetensors"))


def max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def losses(run_dir: Path) -> dict[int, float]:
    rows = {}
    for path in sorted((run_dir / "logs").glob("version_*/metrics.csv")):
        for row in csv.DictReader(path.open()):
            if row.get("train/loss"):
                rows[int(row["step"])] = float(row["train/loss"])
    return rows


def test_sampler_is_a_function_of_the_step_and_shards_the_global_batch():
    full = StepBatchSampler(100, 8, seed=3)
    stream = iter(full)
    batches = [next(stream) for _ in range(30)]
    resumed = iter(StepBatchSampler(100, 8, seed=3, start_step=17))
    assert next(resumed) == batches[17]
    shards = [next(iter(StepBatchSampler(100, 8, seed=3, start_step=5, rank=r, world_size=2))) for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(batches[5])
    assert len(set(sum(batches[:12], []))) == 96  # one epoch (12 batches) covers 96 distinct items


def test_ema_follows_its_formula():
    model = torch.nn.Linear(1, 1, bias=False)
    ema = EMA(decay=0.5)
    values = [1.0, 3.0, 5.0]
    expected = None
    for step, value in enumerate(values):
        model.weight.data.fill_(value)
        ema._update(model)
        decay = min(0.5, (1 + step) / (10 + step))
        expected = value if expected is None else decay * expected + (1 - decay) * value
    assert ema.shadow["weight"].item() == pytest.approx(expected)


def test_cosine_schedule_warms_up_then_decays_to_its_floor(tmp_path):
    config = TrainerConfig(max_steps=110, warmup_steps=10, lr_schedule="cosine", min_lr_ratio=0.2)
    factors = [learning_rate_factor(step, config) for step in range(111)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == factors[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[60] == pytest.approx(0.6) and factors[110] == pytest.approx(0.2)
    assert learning_rate_factor(500, TrainerConfig(warmup_steps=10)) == 1.0  # the default holds it
    with pytest.raises(ConfigError, match="min_lr_ratio"):
        TrainerConfig(min_lr_ratio=1.5)
    run_in_process(tmp_path / "run", ["trainer.max_steps=20", "trainer.lr_schedule=cosine",
                                      "trainer.min_lr_ratio=0.25"])
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    learning_rate = load_run_config(CONFIG, QUIET).trainer.learning_rate
    assert state["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(0.25 * learning_rate)


def test_resume_in_two_halves_equals_one_run(tmp_path):
    whole = run_in_process(tmp_path / "whole", ["trainer.max_steps=60"])
    run_in_process(tmp_path / "halves", ["trainer.max_steps=30"])
    halves = run_in_process(tmp_path / "halves", ["trainer.max_steps=60"], resume=True)
    assert whole.steps == halves.steps == 60
    assert max_difference(weights(tmp_path / "whole"), weights(tmp_path / "halves")) < 1e-6
    assert len(list((tmp_path / "halves" / "logs").glob("version_*"))) == 2  # earlier logs kept


def test_training_leaves_the_process_as_it_found_it(tmp_path):
    """Warning filters, Lightning's logger levels and the environment are the caller's again after a run (the harness
    once left an "ignore" filter and DIFFS2ST_LOG_VERSION behind), also when the run fails."""
    import logging
    import warnings

    def state():
        return (list(warnings.filters), os.environ.copy(),
                [logging.getLogger(name).level for name in ("lightning.pytorch", "lightning.fabric")])

    before = state()
    run_in_process(tmp_path / "run", ["trainer.max_steps=2"])
    assert state() == before
    with pytest.raises(Diffs2stError, match="already holds a run"):
        run_in_process(tmp_path / "run", ["trainer.max_steps=4"])
    assert state() == before


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    """SIGKILL at an arbitrary moment after the first checkpoint; resume; compare with an uninterrupted run."""
    steps = ["--set", "trainer.max_steps=1500", "--set", "trainer.checkpoint_every=10", "--set",
             "trainer.progress_bar=false"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    victim = subprocess.Popen(cli("--out", str(tmp_path / "killed"), *steps), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not last.exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (tmp_path / "killed" / "model").exists()
    killed_at = torch.load(last, weights_only=True, map_location="cpu")["global_step"]  # loads without pickle
    assert 0 < killed_at < 1500
    subprocess.run(cli("--out", str(tmp_path / "killed"), "--resume", *steps), env=env, check=True,
                   capture_output=True)
    subprocess.run(cli("--out", str(tmp_path / "whole"), *steps), env=env, check=True, capture_output=True)
    assert max_difference(weights(tmp_path / "whole"), weights(tmp_path / "killed")) < 1e-6
    assert json.loads((tmp_path / "killed" / "train_metrics.json").read_text())["steps"] == 1500


@pytest.mark.slow
def test_ddp_two_processes_equals_one_process_with_the_same_global_batch(tmp_path):
    common = ["--set", "trainer.max_steps=40", "--set", "trainer.batch_size=16", "--set", "trainer.log_every=1",
              "--set", "trainer.progress_bar=false", "--set", "model.dropout=0.0"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(cli("--out", str(tmp_path / "one"), *common), env=env, check=True, capture_output=True)
    subprocess.run(cli("--out", str(tmp_path / "two"), "--set", "trainer.devices=2", "--set",
                       "trainer.strategy=ddp", *common), env=env, check=True, capture_output=True, timeout=300)
    metrics = json.loads((tmp_path / "two" / "train_metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert metrics["replica_max_abs_diff"] == 0.0  # both ranks hold identical weights
    assert max_difference(weights(tmp_path / "one"), weights(tmp_path / "two")) < 1e-5
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == 40
    assert max(abs(one[s] - two[s]) for s in one) < 1e-5


def test_refuses_to_overwrite_or_resume_nothing(tmp_path):
    with pytest.raises(Diffs2stError, match="cannot resume"):
        run_in_process(tmp_path / "fresh", ["trainer.max_steps=2"], resume=True)
    run_in_process(tmp_path / "run", ["trainer.max_steps=2"])
    with pytest.raises(Diffs2stError, match="already holds a run"):
        run_in_process(tmp_path / "run", ["trainer.max_steps=4"])


def test_init_from_starts_a_new_run_from_a_checkpoint(tmp_path, capsys):
    """--init-from copies the exported weights (EMA included) into a fresh run; wrong shapes or --resume refuse."""
    first = run_in_process(tmp_path / "first", ["trainer.max_steps=20"])
    config = load_run_config(CONFIG, QUIET)
    model, _, _ = build_run(config)
    assert max_difference(model.state_dict(), weights(tmp_path / "first")) > 1e-3  # a fresh model differs
    assert initialize_from(model, first.model_dir) is model
    assert max_difference(model.state_dict(), weights(tmp_path / "first")) == 0.0

    wider, _, _ = build_run(load_run_config(CONFIG, QUIET + ["model.hidden=16"]))
    with pytest.raises(CheckpointError, match="shape"):
        initialize_from(wider, first.model_dir)

    # A training wrapper takes the checkpoint into its part of that class (the vocoder inside its GAN).
    small = ISTFTVocoderConfig(dim=16, intermediate_dim=32, num_layers=1)
    torch.manual_seed(1)
    shipped = save_checkpoint(tmp_path / "vocoder", ISTFTVocoder(small))
    gan = VocoderGAN(VocoderTrainingConfig(generator="istft", istft=small))
    target = initialize_from(gan, shipped)
    assert target is gan.vocoder
    assert max_difference(gan.vocoder.state_dict(), load_checkpoint(shipped).model.state_dict()) == 0.0
    with pytest.raises(CheckpointError, match="no part of that kind"):
        initialize_from(model, shipped)

    code = main(["train", str(CONFIG), "--out", str(tmp_path / "first"), "--resume", "--init-from",
                 str(first.model_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--init-from" in err[0]
    code = main(["train", str(CONFIG), "--out", str(tmp_path / "second"), "--init-from", str(first.model_dir),
                 "--set", "trainer.max_steps=2", "--set", "trainer.progress_bar=false"])
    assert code == 0 and (tmp_path / "second" / "model" / "model.safetensors").is_file()


def test_snapshot_exports_a_runs_last_checkpoint_without_touching_it(tmp_path, capsys):
    """`diffs2st snapshot RUN -o DIR`: the EMA weights of last.ckpt, which at the end of a run are the exported
    model's, rebuilt from the run's own architecture.yaml (or --like a checkpoint); the run's files stay as they
    were; a mismatched architecture, a missing checkpoint or a run without architecture.yaml refuse."""
    run = run_in_process(tmp_path / "run", ["trainer.max_steps=12"])
    assert (run.run_dir / "architecture.yaml").read_text() == (run.model_dir / "config.yaml").read_text()
    before = {p: p.stat().st_mtime_ns for p in run.run_dir.rglob("*") if p.is_file()}
    assert main(["snapshot", str(run.run_dir), "-o", str(tmp_path / "snap")]) == 0
    assert main(["snapshot", str(run.run_dir), "--like", str(run.model_dir), "-o", str(tmp_path / "snap-like")]) == 0
    for snap in ("snap", "snap-like"):
        assert max_difference(weights(tmp_path / "run"), load_file(str(tmp_path / snap / "model.safetensors"))) == 0.0
        assert load_checkpoint(tmp_path / snap).metrics["steps"] == 12
    assert {p: p.stat().st_mtime_ns for p in run.run_dir.rglob("*") if p.is_file()} == before
    wider, _, _ = build_run(load_run_config(CONFIG, QUIET + ["model.hidden=16"]))
    save_checkpoint(tmp_path / "wider", wider)
    capsys.readouterr()
    assert main(["snapshot", str(run.run_dir), "--like", str(tmp_path / "wider"), "-o", str(tmp_path / "x")]) == 2
    assert main(["snapshot", str(tmp_path / "none"), "--like", str(run.model_dir), "-o", str(tmp_path / "y")]) == 2
    (run.run_dir / "architecture.yaml").unlink()
    assert main(["snapshot", str(run.run_dir), "-o", str(tmp_path / "z")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "does not fit" in err[0] and "does not exist" in err[1] and "--like" in err[2]
    assert not any((tmp_path / name).exists() for name in ("x", "y", "z"))


