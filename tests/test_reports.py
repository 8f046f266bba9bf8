"""The benchmarks' shared report helpers (`diffs2st.reports`): mean ± standard error, JSON/Markdown writing, the
heading every report starts with, and the generic per-utterance report."""

from __future__ import annotations

import json
import math

import pytest

from diffs2st.reports import (format_mean_error, markdown_table, mean_and_standard_error, report_heading, write_json,
                              write_markdown, write_report)


def test_mean_and_standard_error_follow_their_formulas():
    values = [1.0, 2.0, 4.0, 7.0]
    mean, error = mean_and_standard_error(values)
    assert mean == pytest.approx(3.5)
    sample_variance = sum((v - 3.5) ** 2 for v in values) / 3
    assert error == pytest.approx(math.sqrt(sample_variance / 4))
    assert math.isnan(mean_and_standard_error([2.0])[1]) and mean_and_standard_error([2.0])[0] == 2.0
    assert format_mean_error(0.0151, 0.0049, signed=True) == "+0.015 ± 0.005"
    assert format_mean_error(0.4219, 0.0123, digits=2) == "0.42 ± 0.01"


def test_json_and_markdown_writers_round_trip(tmp_path):
    document = {"command": "python x.py", "values": [1, 2.5], "path": tmp_path}  # a Path is written as text
    written = write_json(tmp_path / "r.json", document)
    assert written.read_text().endswith("}\n")
    assert json.loads(written.read_text()) == {**document, "path": str(tmp_path)}
    assert write_markdown(tmp_path / "r.md", ["# t", "", "body"]).read_text() == "# t\n\nbody"
    assert write_markdown(tmp_path / "s.md", "# t\n").read_text() == "# t\n"
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob(".*"))


def test_report_heading_and_generic_report(tmp_path):
    assert report_heading("T", "python b.py --x 1") == ["# T", "", "Reproduce with:", "", "```bash",
                                                        "python b.py --x 1", "```", ""]
    rows = [{"id": f"u{i}", "wer": float(i) / 10} for i in range(6)]
    paths = write_report(tmp_path, "demo", "Demo", {"wer": 0.25}, rows, {"command": "python b.py"},
                         ceiling={"wer": 0.5})
    markdown = paths["markdown"].read_text()
    assert markdown.startswith("# Demo\n\nReproduce with:") and "| wer | 0.25 | 0.5 | 0.500 |" in markdown
    assert json.loads(paths["json"].read_text())["per_utterance"] == rows and paths["plot"].is_file()
    assert markdown_table({"a": {"b": 1.0}}) == "| metric | value |\n| --- | --- |\n| a/b | 1 |"
