"""Cold start of the command line, each command as a whole process (issue #31): `diffs2st --help`, `diffs2st
translate` of a 2 s French clip, `diffs2st enhance` of a 4 s noisy clip (its default method), `diffs2st generate
digits --n 1`; each split into import / load / first call / rest, median of N runs. Also the first vs the second
`Translator.translate` call in one process (the warm-up criterion).

    python benchmarks/cold_start.py --out docs/benchmarks/cold_start [--before OLD_CHECKOUT] [--runs 5]

``--before`` names another checkout of the repository (e.g. ``git worktree add /tmp/cold-before COMMIT``); each of
its runs takes turns with the same run of this checkout, so both see the same machine. Each checkout runs as
``python -m diffs2st`` from its own folder (its own package and its own pretrained/). The children inherit this
process's environment: run it as a user would (no OMP_NUM_THREADS, no taskset) on an idle machine for the issue's
numbers. The JSON records the load average before and after every case, the CPU affinity and thread settings.

Phases, measured inside the child by wrapping library functions when their module is imported (nothing else is
changed): *import* = from the parent's spawn to the load function's entry (interpreter start, imports, argument
parsing); *load* = the load functions (``Translator.from_pretrained``; ``build_enhancer``; ``load_model`` +
``load_vocoder``), including the imports they trigger; *first call* = the first call of the work function
(``Translator.translate``; the enhancer; ``DigitDiffusion.generate``); *rest* = the remainder (reading and writing
audio, printing, interpreter exit).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from diffs2st.audio import DEFAULT_MEL, save_audio
from diffs2st.data.tts import espeak, flite
from diffs2st.reports import report_heading, write_json, write_markdown

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("import", "load", "first_call", "rest")
# Targets of issue #31 (2 idle cores, whole process, median of 5).
TARGETS = {"help": 0.5, "translate": 2.5, "enhance": 2.5}
FIRST_CALL_RATIO_TARGET = 1.2

# Run inside each child: wrap the load and work functions when their module is first imported, run the CLI as
# `python -m diffs2st`, write the marks (wall-clock times) to $COLD_START_MARKS.
CHILD = r'''
import importlib.abc, json, os, sys, time

SPEC = json.loads(os.environ["COLD_START_SPEC"])
marks = {"load": [], "call": []}


def wrap(owner, attr, kind):
    original = owner.__dict__[attr]
    is_class_method = isinstance(original, classmethod)
    function = original.__func__ if is_class_method else original

    def timed(*args, **kwargs):
        start, cpu = time.time(), time.process_time()
        try:
            value = function(*args, **kwargs)
        finally:
            marks[kind].append((start, time.time(), cpu, time.process_time()))
        if kind == "load" and SPEC.get("wrap_result") and callable(value) and not isinstance(value, type):
            return Timed(value)
        return value

    setattr(owner, attr, classmethod(timed) if is_class_method else timed)


class Timed:
    """An enhancer (a callable object) whose calls are timed."""

    def __init__(self, inner):
        self._inner = inner

    def __call__(self, *args, **kwargs):
        start, cpu = time.time(), time.process_time()
        try:
            return self._inner(*args, **kwargs)
        finally:
            marks["call"].append((start, time.time(), cpu, time.process_time()))

    def __getattr__(self, name):
        return getattr(self._inner, name)


class PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        targets = [t for t in SPEC["wrap"] if t[0] == name]
        if not targets:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_wrap(module):
            exec_module(module)
            for _, qualname, kind in targets:
                owner = module
                *outer, attr = qualname.split(".")
                for part in outer:
                    owner = getattr(owner, part)
                wrap(owner, attr, kind)

        spec.loader.exec_module = exec_and_wrap
        return spec


sys.meta_path.insert(0, PatchAfterImport())
code = 0
try:
    if SPEC.get("script"):
        exec(compile(SPEC["script"], "<cold-start script>", "exec"), {"__name__": "__main__", "marks": marks})
    else:
        import runpy
        sys.argv = ["diffs2st", *SPEC["argv"]]
        runpy.run_module("diffs2st", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
marks["end"], marks["end_cpu"] = time.time(), time.process_time()
marks["diffs2st_file"] = sys.modules["diffs2st"].__file__
marks["torch_threads"] = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
marks["torch_imported"] = "torch" in sys.modules
with open(os.environ["COLD_START_MARKS"], "w") as handle:
    json.dump(marks, handle)
sys.exit(code)
'''

# The warm-up criterion: two translations of the same clip in one process (the same API in every checkout).
TWICE = r'''
import sys, time
from diffs2st.audio import load_audio
from diffs2st.s2st.translator import Translator
translator = Translator.from_pretrained("pretrained")
wave = load_audio(sys.argv[1], translator.mel.sample_rate)
for _ in range(2):
    start, cpu = time.time(), time.process_time()
    translator.translate(wave)
    marks["call"].append((start, time.time(), cpu, time.process_time()))
'''


def make_clips(folder: Path) -> dict[str, Path]:
    """A 2.0 s French clip (espeak-ng) and a 4.0 s noisy English clip (flite + white noise at 10 dB SNR)."""
    rate = DEFAULT_MEL.sample_rate
    french = espeak("le chat noir dort dans la maison", "fr", "f3")
    english = flite("the black cat is sleeping in the small white house near the river", "slt")
    noise = np.random.default_rng(0).standard_normal(4 * rate).astype(np.float32)
    english = np.pad(english, (0, max(0, 4 * rate - english.size)))[:4 * rate]
    noise *= np.sqrt(np.mean(english ** 2) / np.mean(noise ** 2) / 10.0)
    return {"fr_2s": save_audio(folder / "fr_2s.wav", np.pad(french, (0, max(0, 2 * rate - french.size)))[:2 * rate],
                                rate),
            "noisy_4s": save_audio(folder / "noisy_4s.wav", (english + noise).astype(np.float32), rate)}


def cases(clips: dict[str, Path], work: Path) -> dict[str, dict]:
    """name -> child spec: CLI arguments (or a script) and the functions to time (module, attribute, kind)."""
    return {
        "help": {"argv": ["--help"], "wrap": []},
        "translate": {"argv": ["translate", str(clips["fr_2s"]), "-o", str(work / "translated.wav")],
                      "wrap": [["diffs2st.s2st.translator", "Translator.from_pretrained", "load"],
                               ["diffs2st.s2st.translator", "Translator.translate", "call"]]},
        "enhance": {"argv": ["enhance", str(clips["noisy_4s"]), "-o", str(work / "enhanced.wav")],
                    "wrap": [["diffs2st.enhancement.baselines", "build_enhancer", "load"]], "wrap_result": True},
        "generate": {"argv": ["generate", "digits", "--n", "1", "-o", str(work / "digits")],
                     "wrap": [["diffs2st.checkpoint", "load_model", "load"],
                              ["diffs2st.vocoders.base", "load_vocoder", "load"],
                              ["diffs2st.digits.model", "DigitDiffusion.generate", "call"]]},
        "translate_twice": {"script": TWICE, "argv": [str(clips["fr_2s"])], "wrap": []},
    }


def run_once(checkout: Path, spec: dict, python: str) -> dict:
    """One whole process; the phases (seconds), its CPU time and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        marks_path = Path(tmp) / "marks.json"
        env = dict(os.environ, COLD_START_SPEC=json.dumps(spec), COLD_START_MARKS=str(marks_path))
        env.pop("PYTHONPATH", None)  # the checkout's own package: it is the working directory of `python -c`
        command = [python, "-c", CHILD] + (spec["argv"] if spec.get("script") else [])
        with open(Path(tmp) / "stderr.txt", "w+b") as stderr:
            start_wall, start = time.time(), time.perf_counter()
            process = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU time and peak RSS
            total = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace")
        if process.returncode != 0 or not marks_path.is_file():
            sys.exit(f"error: {spec.get('argv')} in {checkout} failed (status {process.returncode}):\n"
                     f"{errors[-2000:]}")
        marks = json.loads(marks_path.read_text())
    if not Path(marks["diffs2st_file"]).resolve().is_relative_to(checkout.resolve()):
        sys.exit(f"error: the child in {checkout} imported diffs2st from {marks['diffs2st_file']}")
    loads, calls = marks["load"], marks["call"]
    run = {"total": total, "cpu": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
           "torch_imported": marks["torch_imported"], "torch_threads": marks["torch_threads"]}
    if spec.get("script"):
        run["calls"] = [mark[1] - mark[0] for mark in calls]
        run["calls_cpu"] = [mark[3] - mark[2] for mark in calls]
        return run
    first = loads[0] if loads else calls[0] if calls else [marks["end"], None, marks["end_cpu"]]
    for suffix, (begin, end, clock_start, total_key) in {"": (0, 1, start_wall, "total"),
                                                          "_cpu": (2, 3, 0.0, "cpu")}.items():
        run["import" + suffix] = first[begin] - clock_start
        run["load" + suffix] = sum(mark[end] - mark[begin] for mark in loads)
        run["first_call" + suffix] = calls[0][end] - calls[0][begin] if calls else 0.0
        run["rest" + suffix] = run[total_key] - sum(run[phase + suffix] for phase in PHASES[:3])
    return run


def summarize(runs: list[dict], script: bool) -> dict:
    keys = ["total", "cpu", "peak_rss_mib"] + ([] if script else [p + s for s in ("", "_cpu") for p in PHASES])
    summary = {key: statistics.median(run[key] for run in runs) for key in keys}
    if script:
        for suffix in ("", "_cpu"):
            calls = [run["calls" + suffix] for run in runs]
            summary.update({f"first_call{suffix}": statistics.median(c[0] for c in calls),
                            f"second_call{suffix}": statistics.median(c[1] for c in calls),
                            f"first_over_second{suffix}": statistics.median(c[0] / c[1] for c in calls)})
    summary["torch_imported"] = runs[0]["torch_imported"]
    return summary


def measure(checkouts: dict[str, Path], specs: dict[str, dict], runs: int, python: str) -> dict:
    """Every case, ``runs`` times, the checkouts taking turns within each run."""
    results = {label: {name: [] for name in specs} for label in checkouts}
    load = {name: [] for name in specs}
    for name, spec in specs.items():
        for index in range(runs):
            for label, checkout in checkouts.items():
                before = os.getloadavg()[0]
                results[label][name].append(run_once(checkout, spec, python))
                load[name].append([before, os.getloadavg()[0]])
                print(f"{name} run {index + 1}/{runs} {label}: {results[label][name][-1]['total']:.2f} s "
                      f"(load average {before:.2f})", file=sys.stderr)
    return {"summary": {label: {name: summarize(case_runs, bool(specs[name].get("script")))
                                for name, case_runs in by_case.items()} for label, by_case in results.items()},
            "runs": results, "load_average_1min": load}


def markdown(document: dict) -> list[str]:
    summary, labels = document["summary"], list(document["summary"])
    machine = document["machine"]
    loads = [value for pairs in document["load_average_1min"].values() for pair in pairs for value in pair]
    lines = report_heading("Cold start: each command as a whole process", document["command"])
    lines += [f"Machine: {machine['cpus']} CPUs visible, affinity {machine['affinity']}, OMP_NUM_THREADS="
              f"{machine['omp_num_threads']}, torch threads in the children {machine['torch_threads']}; 1-minute "
              f"load average during the runs {min(loads):.2f}-{max(loads):.2f} (median {statistics.median(loads):.2f})"
              f". Median of {document['runs_per_case']} runs per case; the checkouts took turns within each run. "
              + ("The machine was NOT idle: other jobs shared its cores, so every time here is longer than on an "
                 "idle machine (CPU time, which load inflates less, is given beside it)."
                 if statistics.median(loads) > 1.0 else ""), ""]
    lines += [f"Checkouts: " + "; ".join(f"**{label}** = {document['checkouts'][label]}" for label in labels), ""]
    lines += ["Wall-clock seconds (the issue's measure), then the same phases in CPU seconds of the child (user + "
              "system, all its threads; less inflated by other jobs than wall time):", "",
              "| case | checkout | total s | import | load | first call | rest | CPU s | import | load | first call "
              "| rest | peak RSS MiB | torch imported | target (wall) |", "|" + " --- |" * 15]
    for name in ("help", "translate", "enhance", "generate"):
        for label in labels:
            s = summary[label][name]
            target = TARGETS.get(name)
            verdict = "" if target is None else f"≤ {target} s: {'met' if s['total'] <= target else 'NOT met'}"
            wall = " | ".join(f"{s[key]:.2f}" for key in ("total", *PHASES))
            cpu = " | ".join(f"{s[key]:.2f}" for key in ("cpu", *(phase + "_cpu" for phase in PHASES)))
            lines.append(f"| {name} | {label} | {wall} | {cpu} | {s['peak_rss_mib']:.0f} | "
                         f"{'yes' if s['torch_imported'] else 'no'} | {verdict} |")
    lines += ["", "Warm-up: `Translator.translate` twice on the 2 s clip in one process (median of the runs; the "
              f"issue asks for first / second ≤ {FIRST_CALL_RATIO_TARGET}):", "",
              "| checkout | first call s | second call s | first / second | CPU: first s | second s | first / second "
              "| target (wall) |", "|" + " --- |" * 8]
    for label in labels:
        s = summary[label]["translate_twice"]
        verdict = "met" if s["first_over_second"] <= FIRST_CALL_RATIO_TARGET else "NOT met"
        lines.append(f"| {label} | {s['first_call']:.3f} | {s['second_call']:.3f} | {s['first_over_second']:.2f} | "
                     f"{s['first_call_cpu']:.3f} | {s['second_call_cpu']:.3f} | {s['first_over_second_cpu']:.2f} | "
                     f"≤ {FIRST_CALL_RATIO_TARGET}: {verdict} |")
    lines += ["", "Cases: `diffs2st --help`; `diffs2st translate fr_2s.wav -o out.wav` (a 2.0 s espeak-ng French "
              "clip); `diffs2st enhance noisy_4s.wav -o out.wav` (4.0 s, flite English + white noise at 10 dB SNR; "
              "the default method, DeepFilterNet3); `diffs2st generate digits --n 1 -o DIR`. Phases: *import* = "
              "spawn to the load function's entry; *load* = the load functions with the imports they trigger; "
              "*first call* = the first translate / enhance / generate call; *rest* = audio I/O, printing, exit "
              "(see the script's docstring).", ""]
    return lines


def describe(checkout: Path) -> str:
    """The checkout's folder and, when it is a git working tree, its commit (with '+' if it has local changes)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=checkout,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(checkout)
    return f"{checkout} (commit {commit}{'+' if dirty else ''})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "cold_start"), help="report folder")
    parser.add_argument("--before", default=None, help="an older checkout of the repository to measure beside this")
    parser.add_argument("--before-label", default="before", help="its name in the report")
    parser.add_argument("--after-label", default="after", help="this checkout's name in the report")
    parser.add_argument("--runs", type=int, default=5, help="runs per case and checkout (the median is reported)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the commands")
    args = parser.parse_args()
    checkouts = {args.after_label: ROOT}
    if args.before:
        before = Path(args.before).resolve()
        if not (before / "diffs2st" / "__main__.py").is_file():
            sys.exit(f"error: {before} is not a diffs2st checkout")
        checkouts = {args.before_label: before, **checkouts}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp))
        result = measure(checkouts, cases(clips, Path(tmp)), args.runs, args.python)
    threads = sorted({str(run["torch_threads"]) for by_case in result["runs"].values() for case_runs in
                      by_case.values() for run in case_runs if run["torch_threads"] is not None})
    document = {
        "command": "python benchmarks/cold_start.py " + shlex.join(sys.argv[1:]),
        "checkouts": {label: describe(path) for label, path in checkouts.items()},
        "runs_per_case": args.runs,
        "machine": {"cpus": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
                    "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "torch_threads": ", ".join(threads),
                    "python": args.python},
        "targets": {**{f"{name}_total_s": value for name, value in TARGETS.items()},
                    "first_over_second_call": FIRST_CALL_RATIO_TARGET},
        **result,
    }
    write_json(out / "cold_start.json", document)
    path = write_markdown(out / "cold_start.md", markdown(document))
    print("\n".join(markdown(document)))
    print(f"report: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
