"""The command line: every bad input ends in one `error: ...` line and exit status 2; help shows defaults."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from diffs2st.audio import MelConfig
from diffs2st.cli.main import build_parser, main
from test_audio import BAD_INPUTS

SR = MelConfig().sample_rate


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_audio_gives_one_line_error(tmp_path, capsys, make_tone, case):
    write, _ = BAD_INPUTS[case]
    path = tmp_path / "bad.wav"
    write(path, make_tone)
    code, _, err = run_cli(capsys, "features", str(path), "-o", str(tmp_path / "out.npy"))
    assert_one_line_error(code, err, str(path))
    assert not (tmp_path / "out.npy").exists()  # nothing written


def test_missing_input_and_missing_output_folder(tmp_path, capsys, make_tone):
    code, _, err = run_cli(capsys, "vocode", str(tmp_path / "absent.wav"), "-o", str(tmp_path / "o.wav"))
    assert_one_line_error(code, err, "no such file")
    good = tmp_path / "good.wav"
    sf.write(good, make_tone(1.0, SR), SR)
    code, _, err = run_cli(capsys, "vocode", str(good), "-o", str(tmp_path / "no" / "such" / "o.wav"))
    assert_one_line_error(code, err, "does not exist")


def test_ten_minutes_is_refused_with_the_option_then_split(tmp_path, capsys):
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    blocks = [np.concatenate([0.2 * rng.standard_normal(8 * SR), np.zeros(SR // 2)]) for _ in range(71)]
    sf.write(path, np.concatenate(blocks)[: 600 * SR].astype(np.float32), SR)
    code, _, err = run_cli(capsys, "features", str(path), "-o", str(tmp_path / "m.npy"))
    assert_one_line_error(code, err, "--max-seconds")
    code, out, _ = run_cli(capsys, "split", str(path), "-o", str(tmp_path / "parts"))
    assert code == 0 and "none dropped" in out
    parts = sorted((tmp_path / "parts").glob("*.wav"))
    assert sum(sf.info(p).frames for p in parts) == 600 * SR
    assert max(sf.info(p).duration for p in parts) <= 20.0


def test_eight_channel_48k_works_end_to_end(tmp_path, capsys, make_tone):
    path = tmp_path / "multi.wav"
    sf.write(path, make_tone(1.5, 48000, channels=8), 48000)
    code, out, _ = run_cli(capsys, "vocode", str(path), "-o", str(tmp_path / "out.wav"), "--iters", "4")
    assert code == 0 and "RTF" in out
    assert sf.info(tmp_path / "out.wav").samplerate == SR


def test_features_round_trip_to_vocode_from_npy(tmp_path, capsys, make_tone):
    path = tmp_path / "in.flac"
    sf.write(path, make_tone(1.0, 22050), 22050)
    assert run_cli(capsys, "features", str(path), "-o", str(tmp_path / "mel.npy"))[0] == 0
    mel = np.load(tmp_path / "mel.npy")
    assert mel.shape[0] == MelConfig().n_mels
    assert run_cli(capsys, "vocode", str(tmp_path / "mel.npy"), "-o", str(tmp_path / "o.wav"), "--iters", "2")[0] == 0
    np.save(tmp_path / "bad.npy", np.zeros((7, 3)))
    code, _, err = run_cli(capsys, "vocode", str(tmp_path / "bad.npy"), "-o", str(tmp_path / "o2.wav"))
    assert_one_line_error(code, err, "log-mel")


def _subcommands(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_every_command_help_shows_defaults(capsys):
    parser = build_parser()
    for name, sub in _subcommands(parser).items():
        text = sub.format_help()
        for action in sub._actions:
            has_default = action.default not in (None, False, "==SUPPRESS==") and action.option_strings
            if has_default and action.help:
                assert "(default:" in text, f"`diffs2st {name} --help` hides a default"


def test_console_script_prints_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "diffs2st", "features", str(tmp_path / "x.wav"), "-o",
                             str(tmp_path / "y.npy")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no such file") and "Traceback" not in result.stderr
