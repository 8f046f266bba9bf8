"""How far the two English ASR judges agree, and what each costs.

    python benchmarks/judge_agreement.py --ceilings docs/benchmarks/ceilings --out docs/benchmarks/judges \
        --cost-clips 40 --corpus corpora/synth-cvss

Agreement: per utterance, Moonshine base-en's and pocketsphinx's WER on the same reference audio (the rows of the
ceiling reports, `benchmarks/ceilings.py`, judged with ``--asr both``), by base voice: mean WER of each, the share of
utterances each hears perfectly, how often pocketsphinx errs where Moonshine does not and the reverse, and the
correlation of their per-utterance WERs. Cost: CPU and wall seconds per utterance and per second of audio for each
recogniser, this process pinned to one core (``--core``), after a warm-up, on the first ``--cost-clips`` reference
targets of test-unseen-speakers. Writes judges.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from diffs2st.audio import DEFAULT_MEL, MelConfig, load_audio
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.judges import RECOGNIZERS, build_recognizer
from diffs2st.plotting import save_figure, subplots
from diffs2st.reports import report_heading

SPLITS = ("test-seen-speakers", "test-unseen-speakers")


def agreement(rows: list[dict]) -> dict:
    """Agreement statistics of Moonshine (``wer``) and pocketsphinx (``wer_pocketsphinx``) on the same clips."""
    moon = np.array([r["wer"] for r in rows], dtype=float)
    sphinx = np.array([r["wer_pocketsphinx"] for r in rows], dtype=float)
    keep = np.isfinite(moon) & np.isfinite(sphinx)
    moon, sphinx = moon[keep], sphinx[keep]
    return {"utterances": int(moon.size), "moonshine_wer": float(moon.mean()), "pocketsphinx_wer": float(sphinx.mean()),
            "moonshine_perfect": float((moon == 0).mean()), "pocketsphinx_perfect": float((sphinx == 0).mean()),
            "only_pocketsphinx_errs": float(((sphinx > 0) & (moon == 0)).mean()),
            "only_moonshine_errs": float(((moon > 0) & (sphinx == 0)).mean()),
            "correlation": float(np.corrcoef(moon, sphinx)[0, 1]) if moon.size > 2 and moon.std() and sphinx.std()
            else float("nan")}


def by_voice(rows: list[dict]) -> dict[str, dict]:
    return {voice: agreement([r for r in rows if r["voice"] == voice]) for voice in sorted({r["voice"] for r in rows})}


def process_and_children_cpu() -> float:
    """CPU seconds of this process and of its ended children (Moonshine's child processes, renewed as they run)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def judge_cost(manifest: Path, clips: int, mel: MelConfig) -> dict[str, dict]:
    """Seconds per utterance and per audio second of every registered recogniser on ``clips`` reference targets
    (CPU: this process and the recogniser's child processes, with their start-ups)."""
    records = [r for r in read_manifest(manifest, S2STRecord) if r.tgt_audio][:clips]
    waves = [load_audio(resolve_audio(manifest, r.tgt_audio), mel.sample_rate, max_seconds=None) for r in records]
    audio_seconds = sum(w.size for w in waves) / mel.sample_rate
    cost = {}
    for name in RECOGNIZERS.names():
        started = time.perf_counter()
        recognizer = build_recognizer(name, mel)
        recognizer.transcribe(waves[0])  # warm-up
        load_seconds = time.perf_counter() - started
        if hasattr(recognizer, "close"):
            recognizer.close()  # Moonshine runs in child processes: their CPU counts once they have ended
        wall, cpu = time.perf_counter(), process_and_children_cpu()
        for wave in waves:
            recognizer.transcribe(wave)
        if hasattr(recognizer, "close"):
            recognizer.close()
        wall, cpu = time.perf_counter() - wall, process_and_children_cpu() - cpu
        cost[name] = {"clips": len(waves), "audio_seconds": audio_seconds, "load_and_warmup_seconds": load_seconds,
                      "wall_per_utterance": wall / len(waves), "cpu_per_utterance": cpu / len(waves),
                      "wall_rtf": wall / audio_seconds, "cpu_rtf": cpu / audio_seconds}
    return cost


def plot(rows_by_split: dict[str, list[dict]], path: Path) -> Path:
    figure, axes = subplots(1, len(rows_by_split), figsize=(5.2 * len(rows_by_split), 4.2), squeeze=False)
    for axis, (split, rows) in zip(axes[0], rows_by_split.items()):
        for voice in sorted({r["voice"] for r in rows}):
            mine = [r for r in rows if r["voice"] == voice]
            jitter = np.random.default_rng(0).uniform(-0.01, 0.01, size=(2, len(mine)))
            axis.scatter(np.array([r["wer_pocketsphinx"] for r in mine]) + jitter[0],
                         np.array([r["wer"] for r in mine]) + jitter[1], s=8, alpha=0.5, label=voice)
        axis.plot([0, 1], [0, 1], color="gray", linewidth=1, linestyle="--")
        axis.set_xlim(-0.05, 1.05)
        axis.set_ylim(-0.05, 1.05)
        axis.set_xlabel("pocketsphinx WER")
        axis.set_ylabel("Moonshine base-en WER")
        axis.set_title(f"{split}: reference audio, per utterance", fontsize=9)
        axis.legend(fontsize=7)
    figure.tight_layout()
    return save_figure(figure, path)


def render(report: dict, out: Path) -> str:
    lines = [*report_heading("ASR judges: Moonshine base-en vs pocketsphinx on the same reference audio",
                             report["command"]),
             "Per utterance WER of each judge on the reference English audio of synth-cvss, after the same "
             "normaliser (Whisper's English normaliser, `diffs2st.judges.normalize_text`). *only X errs*: share of "
             "utterances X mishears while the other judge hears them perfectly.", ""]
    columns = ("utterances", "moonshine_wer", "pocketsphinx_wer", "moonshine_perfect", "pocketsphinx_perfect",
               "only_moonshine_errs", "only_pocketsphinx_errs", "correlation")
    header = "| split | voice | " + " | ".join(c.replace("_", " ") for c in columns) + " |"
    lines += [header, "|" + " --- |" * (len(columns) + 2)]
    for split, result in report["agreement"].items():
        for voice, stats in {"all": result["all"], **result["by_voice"]}.items():
            cells = [str(stats[c]) if c == "utterances" else f"{stats[c]:.3f}" for c in columns]
            lines.append(f"| {split} | {voice} | " + " | ".join(cells) + " |")
    if report.get("cost"):
        lines += ["", "## Cost of each judge", "",
                  f"This process pinned to one core; {report['load']}. Seconds per utterance after a warm-up.", "",
                  "| judge | clips | audio s | load + warm-up s | wall s / utt. | CPU s / utt. | wall RTF | CPU RTF |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, c in report["cost"].items():
            lines.append(f"| {name} | {c['clips']} | {c['audio_seconds']:.1f} | {c['load_and_warmup_seconds']:.2f} | "
                         f"{c['wall_per_utterance']:.3f} | {c['cpu_per_utterance']:.3f} | {c['wall_rtf']:.3f} | "
                         f"{c['cpu_rtf']:.3f} |")
    lines += ["", "![Moonshine vs pocketsphinx WER per utterance](judges.png)", ""]
    text = "\n".join(lines)
    (out / "judges.md").write_text(text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ceilings", default="docs/benchmarks/ceilings", help="folder of ceiling-<split>.json")
    parser.add_argument("--corpus", default="corpora/synth-cvss", help="for --cost-clips")
    parser.add_argument("--cost-clips", type=int, default=40, help="clips timed per judge (0: skip)")
    parser.add_argument("--core", type=int, default=None, help="core to pin to for timing (default: the last one)")
    parser.add_argument("--out", default="docs/benchmarks/judges")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_by_split = {}
    for split in SPLITS:
        rows = json.loads(Path(args.ceilings, f"ceiling-{split}.json").read_text())["per_utterance"]
        if not rows or "wer_pocketsphinx" not in rows[0]:
            raise SystemExit(f"{split}: the ceiling report has no pocketsphinx column (run ceilings.py --asr both)")
        rows_by_split[split] = rows
    report = {"command": command,
              "agreement": {split: {"all": agreement(rows), "by_voice": by_voice(rows)}
                            for split, rows in rows_by_split.items()}}
    if args.cost_clips:
        core = args.core if args.core is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})  # this script's own process: the judges' cost on one core
        import torch

        torch.set_num_threads(1)
        report["load"] = f"core {core}, load average {os.getloadavg()[0]:.1f} at the start"
        report["cost"] = judge_cost(Path(args.corpus) / "test-unseen-speakers.jsonl", args.cost_clips, DEFAULT_MEL)
        report["load"] += f", {os.getloadavg()[0]:.1f} at the end"
    (out / "judges.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(rows_by_split, out / "judges.png")
    print(render(report, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
