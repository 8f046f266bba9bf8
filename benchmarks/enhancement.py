"""Speech enhancement on synth-noisy test: the noisy input, spectral gating, DeepFilterNet3 and our score enhancers.

    python benchmarks/enhancement.py --manifest corpora/synth-noisy/test.jsonl --out docs/benchmarks/enhancement \
        --limit 320 [--system NAME=METHOD[,key=value...]] [--sweep-steps 1 2 4 8 16 --sweep-limit 40] [--reuse] \
        [--threads 2]

Every system enhances the same records; all outputs are scored against the clean reference (PESQ-WB, ESTOI,
SI-SDR, DNSMOS, Resemblyzer SIM to clean) overall, per noise family and per SNR, with the held-out noise family
(absent from train; the records' ``extra["heldout"]`` flag or --heldout) reported separately; RTF with --threads
torch threads. Default systems: noisy, spectral-gating, deepfilternet3, and, where their checkpoints exist,
score-conditional, score-prior and score-conditional with classifier guidance. A system is
``NAME=METHOD,key=value,...`` with the options of `build_enhancer` (checkpoint, steps, sampler, t_star, classifier,
guidance_scale). Then quality vs the number of sampling steps for each score system on the first --sweep-limit
records. Writes enhancement-<name>.{json,md,png} per system and enhancement.{json,md,png}. ``--reuse`` takes a
system's per-utterance scores from an existing enhancement-<name>.json made with the same manifest and records.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffs2st.audio import DEFAULT_MEL, load_audio, save_audio
from diffs2st.data.manifest import EnhancementRecord, read_manifest, resolve_audio
from diffs2st.enhancement import ENHANCERS, build_enhancer
from diffs2st.errors import ConfigError
from diffs2st.evaluation import evaluate, plan_items
from diffs2st.digests import checkpoint_sha256
from diffs2st.plotting import save_figure, subplots
from diffs2st.pretrained import bundled
from diffs2st.reports import (format_mean_error, mean_and_standard_error, report_heading, write_json, write_markdown,
                              write_report)

METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl", "sim_to_clean")
SWEEP_METRICS = ("pesq", "estoi", "si_sdr")
OPTION_TYPES = {"checkpoint": str, "steps": int, "sampler": str, "t_star": float, "classifier": str,
                "guidance_scale": float, "seed": int}


def parse_system(text: str) -> tuple[str, str, dict]:
    """``NAME=METHOD,key=value,...`` (or just METHOD) -> (name, method, options)."""
    name, _, spec = text.partition("=") if "=" in text.split(",")[0] else (text.split(",")[0], "", text)
    method, *pairs = spec.split(",")
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in OPTION_TYPES or not value:
            raise ConfigError(f"system option {pair!r}: use key=value with key in {', '.join(OPTION_TYPES)}")
        options[key] = OPTION_TYPES[key](value)
    return name, method, options


def default_systems() -> list[str]:
    systems = ["noisy", "spectral-gating", "deepfilternet3"]
    classifier = bundled("enhance-classifier")
    if (bundled("enhance-conditional") / "model.safetensors").is_file():
        systems.append("score-conditional")
        if (classifier / "model.safetensors").is_file():
            # Scale 1 for the one-step sampler: on a separate dev set (synth-noisy --seed 7, 60 seen-noise records)
            # scales 0/1/3/10 gave PESQ 2.246/2.247/2.180/1.807, SI-SDR 13.8/13.5/12.5/9.0 dB.
            systems.append(f"score-conditional+guidance=score-conditional,classifier={classifier},"
                           "guidance_scale=1.0")
    if (bundled("enhance-prior") / "model.safetensors").is_file():
        systems.append("score-prior")
    return systems


def enhance_all(enhancer, manifest: Path, records, out_dir: Path, desc: str) -> float:
    """Enhance every noisy input into out_dir/<id>.wav; returns RTF (wall seconds / audio seconds)."""
    rate = enhancer.sample_rate
    enhancer(load_audio(resolve_audio(manifest, records[0].noisy_audio), rate, max_seconds=None))  # warm-up
    elapsed = seconds = 0.0
    for record in tqdm(records, desc=desc, leave=False):
        wave = load_audio(resolve_audio(manifest, record.noisy_audio), rate, max_seconds=None)
        start = time.perf_counter()
        enhanced = enhancer(wave)
        elapsed += time.perf_counter() - start
        seconds += wave.size / rate
        save_audio(out_dir / f"{record.id}.wav", enhanced, rate)
    return elapsed / seconds


def group_means(rows, heldout: set[str]) -> dict:
    groups = {"seen families": [r for r in rows if r["noise_family"] not in heldout],
              "held-out family": [r for r in rows if r["noise_family"] in heldout]}
    for snr in sorted({r["snr_db"] for r in rows if r["snr_db"] is not None}):
        groups[f"SNR {snr:g} dB"] = [r for r in rows if r["snr_db"] == snr]
    for family in sorted({r["noise_family"] for r in rows}):
        groups[f"family {family}"] = [r for r in rows if r["noise_family"] == family]
    return {name: {m: float(np.nanmean([r[m] for r in part])) for m in METRICS} | {"n": len(part)}
            for name, part in groups.items() if part}


def checkpoint_digests(method: str, options: dict) -> dict[str, str]:
    """SHA-256 of the files a score system loads (its checkpoint, the bundled one by default, and any classifier),
    so that a report is reused only while the same weights and settings are in place; {} for the baselines."""
    if not method.startswith("score-"):
        return {}
    folders = {"checkpoint": options.get("checkpoint") or bundled(ENHANCERS.get(method).default_checkpoint)}
    if options.get("classifier"):
        folders["classifier"] = options["classifier"]
    return {f"{role}/{name}": digest for role, folder in folders.items()
            for name, digest in checkpoint_sha256(folder).items()}


def reusable(path: Path, manifest: Path, ids: list[str], method: str, options: dict) -> dict | None:
    """The report at ``path`` if it scored the same records with the same method, options and checkpoint files
    (the baselines' reports from before ``method`` was recorded count as the method named by the file)."""
    if not path.is_file():
        return None
    document = json.loads(path.read_text())
    rows = document.get("per_utterance", [])
    same = (document.get("manifest") == str(manifest) and [r.get("id") for r in rows] == ids
            and document.get("method", document.get("system")) == method and document.get("options", {}) == options
            and document.get("checkpoints", {}) == checkpoint_digests(method, options))
    return document if same and "rtf" in document.get("summary", {}) else None


def score_system(name: str, method: str, options: dict, manifest: Path, records, args, command: str,
                 scratch: Path) -> tuple[dict, list[dict]]:
    """(summary with rtf, per-utterance rows) of one system, reused from its report when allowed."""
    report = Path(args.out) / f"enhancement-{name}.json"
    ids = [r.id for r in records]
    if args.reuse and (document := reusable(report, manifest, ids, method, options)):
        print(f"{name}: reusing {report}")
        return {**document["summary"], "made_by": document.get("command")}, document["per_utterance"]
    if method == "noisy":
        items, rtf = plan_items("enhance", manifest, None, noisy=True, limit=args.limit), 0.0
    else:
        out_dir = scratch / name
        out_dir.mkdir()
        rtf = enhance_all(build_enhancer(method, **options), manifest, records, out_dir, name)
        items = plan_items("enhance", manifest, out_dir, limit=args.limit)
    summary, rows = evaluate("enhance", items, DEFAULT_MEL, jobs=args.jobs)  # the corpus's rate
    summary["rtf"] = rtf
    write_report(args.out, f"enhancement-{name}", f"synth-noisy test: {name}", summary, rows,
                 {"kind": "enhance", "manifest": str(manifest), "system": name, "method": method,
                  "options": options, "checkpoints": checkpoint_digests(method, options), "command": command})
    return summary, rows


def sweep(systems, manifest: Path, records, args, scratch: Path) -> dict:
    """Quality and RTF vs sampling steps for each score system on ``records``."""
    results: dict[str, list[dict]] = {}
    for name, method, options in systems:
        if not method.startswith("score-"):
            continue
        results[name] = []
        for steps in args.sweep_steps:
            out_dir = scratch / f"sweep-{name}-{steps}"
            out_dir.mkdir()
            enhancer = build_enhancer(method, **{**options, "steps": steps})
            rtf = enhance_all(enhancer, manifest, records, out_dir, f"{name} {steps} steps")
            summary, _ = evaluate("enhance", plan_items("enhance", manifest, out_dir, limit=len(records)), DEFAULT_MEL,
                                  jobs=args.jobs, progress=False)
            results[name].append({"steps": steps, "rtf": rtf, **{m: summary.get(m) for m in SWEEP_METRICS}})
            print(f"{name} steps {steps}: " + ", ".join(f"{k} {v:.3f}" for k, v in results[name][-1].items()
                                                         if isinstance(v, float)))
    return results


def plot_sweep(results: dict, baselines: dict, path: Path) -> Path | None:
    if not results:
        return None
    figure, axes = subplots(1, len(SWEEP_METRICS) + 1, figsize=(4.2 * (len(SWEEP_METRICS) + 1), 3.4))
    for axis, metric in zip(axes, SWEEP_METRICS + ("rtf",)):
        for name, points in results.items():
            axis.plot([p["steps"] for p in points], [p[metric] for p in points], marker="o", label=name)
        for name, value in baselines.items():
            if value.get(metric) is not None:
                axis.axhline(value[metric], linestyle="--", linewidth=1, color="grey")
                axis.annotate(name, (0.02, value[metric]), xycoords=("axes fraction", "data"), fontsize=7,
                              color="grey")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("sampling steps")
        axis.set_title(metric)
    axes[0].legend(fontsize=7)
    return save_figure(figure, path)


def fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def paired_difference(ours: list[dict], theirs: list[dict], metric: str, keep) -> str:
    """Mean ± standard error of ours − theirs over the records both scored that ``keep(row)`` selects."""
    reference = {r["id"]: r[metric] for r in theirs}
    gaps = np.array([r[metric] - reference[r["id"]] for r in ours if keep(r) and r["id"] in reference], dtype=float)
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size < 2:
        return "too few paired records"
    return f"paired difference {format_mean_error(*mean_and_standard_error(gaps), signed=True)} s.e. over {gaps.size}"


def goals(groups: dict, rtf: dict, rows: dict, heldout: set[str], name: str,
          reference: str = "deepfilternet3") -> list[str]:
    ours, theirs = groups[name], groups[reference]
    seen, held = ours.get("seen families"), ours.get("held-out family")
    ref_seen, ref_held = theirs.get("seen families"), theirs.get("held-out family")

    def is_seen(row: dict) -> bool:
        return row["noise_family"] not in heldout

    lines = []
    if seen and ref_seen:
        for metric, label in (("pesq", "PESQ"), ("si_sdr", "SI-SDR")):
            ok = seen[metric] > ref_seen[metric]
            lines.append(f"- seen families, {label}: {name} {seen[metric]:.3f} vs {reference} "
                         f"{ref_seen[metric]:.3f} ({paired_difference(rows[name], rows[reference], metric, is_seen)})"
                         f" -> {'met' if ok else 'NOT met'}")
    if held and ref_held:
        ok = held["pesq"] >= ref_held["pesq"] - 0.1
        gap = paired_difference(rows[name], rows[reference], "pesq", lambda row: not is_seen(row))
        lines.append(f"- held-out family, PESQ within 0.1: {held['pesq']:.3f} vs {ref_held['pesq']:.3f} ({gap}) -> "
                     f"{'met' if ok else 'NOT met'}")
    lines.append(f"- RTF <= 0.5: {rtf[name]:.3f} -> {'met' if rtf[name] <= 0.5 else 'NOT met'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="corpora/synth-noisy/test.jsonl")
    parser.add_argument("--out", default="docs/benchmarks/enhancement")
    parser.add_argument("--system", action="append", default=None, help="NAME=METHOD[,key=value...] (repeatable)")
    parser.add_argument("--heldout", action="append", default=None, help="held-out noise family (repeatable)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sweep-steps", type=int, nargs="*", default=[1, 2, 4, 8, 16])
    parser.add_argument("--sweep-limit", type=int, default=40, help="records of the steps sweep (0: skip)")
    parser.add_argument("--reuse", action="store_true", help="reuse per-system reports made on the same records")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads while enhancing (RTF)")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite enhancement.md from a stored enhancement.json and the per-system reports "
                             "beside it in --out (no enhancing or judging)")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text()), Path(args.out)))
        return 0
    torch.set_num_threads(args.threads)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    manifest = Path(args.manifest)
    records = read_manifest(manifest, EnhancementRecord)[: args.limit]
    heldout = set(args.heldout or {r.noise_family for r in records if r.extra.get("heldout")})
    systems = [parse_system(text) for text in (args.system or default_systems())]
    names = [name for name, _, _ in systems]
    if len(set(names)) != len(names) or len(set(args.sweep_steps)) != len(args.sweep_steps):
        raise ConfigError("system names and sweep steps must be unique (name a system with NAME=METHOD,...)")
    if not records:
        raise ConfigError(f"{manifest} has no records to score")
    results, per_utterance = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, method, options in systems:
            summary, rows = score_system(name, method, options, manifest, records, args, command, Path(scratch))
            per_utterance[name] = rows
            results[name] = {"method": method, "options": options, "rtf": summary["rtf"],
                             "made_by": summary.get("made_by") or command,
                             "overall": {m: summary.get(m) for m in METRICS}, "groups": group_means(rows, heldout)}
        sweep_records = records[: args.sweep_limit] if args.sweep_limit else []
        sweep_results = sweep(systems, manifest, sweep_records, args, Path(scratch)) if sweep_records else {}
    out = Path(args.out)
    baselines = {}
    for name in ("noisy", "deepfilternet3"):
        if name in results and sweep_records:
            ids = {r.id for r in sweep_records}
            report = json.loads((out / f"enhancement-{name}.json").read_text())["per_utterance"]
            baselines[name] = {m: float(np.nanmean([r[m] for r in report if r["id"] in ids])) for m in SWEEP_METRICS}
    plot_sweep(sweep_results, baselines, out / "enhancement.png")
    report = {"command": command, "heldout": sorted(heldout), "threads": args.threads, "records": len(records),
              "results": results, "sweep": {"records": len(sweep_records), "results": sweep_results,
                                            "baselines": baselines}}
    write_json(out / "enhancement.json", report)
    print(render(report, out, per_utterance))
    return 0


def render(report: dict, out: Path, per_utterance: dict[str, list[dict]] | None = None) -> str:
    """enhancement.md from the enhancement.json document and each system's per-utterance rows (read from its
    enhancement-<name>.json in ``out`` when not given); returns the text."""
    command, results, heldout = report["command"], report["results"], set(report["heldout"])
    if per_utterance is None:
        per_utterance = {name: json.loads((out / f"enhancement-{name}.json").read_text())["per_utterance"]
                         for name in results}
    records = report.get("records") or sum(  # reports before "records" was stored: the two family groups
        next(iter(results.values()))["groups"].get(group, {}).get("n", 0) for group in ("seen families",
                                                                                      "held-out family"))
    sweep_records, sweep_results, baselines = (report["sweep"]["records"], report["sweep"]["results"],
                                               report["sweep"]["baselines"])
    lines = [*report_heading("Speech enhancement on synth-noisy test", command),
             f"{records} test records; held-out noise family (never in train): "
             f"{', '.join(sorted(heldout)) or 'none marked'}. RTF with {report['threads']} torch threads on this "
             "machine's CPU. All scores against the clean reference.", ""]
    reused = {name: r["made_by"] for name, r in results.items() if r["made_by"] != command}
    if reused:
        lines += ["Rows reused from earlier reports on the same records (same judges), made by:", ""]
        lines += [f"- {name}: `{made_by}`" for name, made_by in reused.items()] + [""]
    groups = {name: result["groups"] for name, result in results.items()}
    rtfs = {name: result["rtf"] for name, result in results.items()}
    ours = [name for name, result in results.items() if result["method"].startswith("score-")]
    if ours and "deepfilternet3" in results:
        lines += ["## Goals (ours vs DeepFilterNet3)", ""]
        for name in ours:
            lines += [f"**{name}**", ""] + goals(groups, rtfs, per_utterance, heldout, name) + [""]
    for group in ["seen families", "held-out family"] + sorted(
            {g for r in results.values() for g in r["groups"]} - {"seen families", "held-out family"}):
        lines += [f"## {group}", "", "| system | n | PESQ | ESTOI | SI-SDR (dB) | DNSMOS OVRL | SIM to clean | RTF |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, result in results.items():
            g = result["groups"].get(group)
            if g:
                lines.append(f"| {name} | {g['n']} | {g['pesq']:.3f} | {g['estoi']:.3f} | {g['si_sdr']:.2f} | "
                             f"{g['dnsmos_ovrl']:.3f} | {g['sim_to_clean']:.3f} | {result['rtf']:.3f} |")
        lines.append("")
    if sweep_results:
        lines += [f"## Quality vs sampling steps (first {sweep_records} records)", "",
                  "| system | steps | PESQ | ESTOI | SI-SDR (dB) | RTF |", "| --- | --- | --- | --- | --- | --- |"]
        for name, value in baselines.items():
            lines.append(f"| {name} | - | {fmt(value['pesq'])} | {fmt(value['estoi'])} | "
                         f"{fmt(value['si_sdr'], 2)} | - |")
        for name, points in sweep_results.items():
            for p in points:
                lines.append(f"| {name} | {p['steps']} | {fmt(p['pesq'])} | {fmt(p['estoi'])} | "
                             f"{fmt(p['si_sdr'], 2)} | {p['rtf']:.3f} |")
        lines += ["", "![quality vs steps](enhancement.png)", ""]
    text = "\n".join(lines)
    write_markdown(out / "enhancement.md", text)
    return text


if __name__ == "__main__":
    sys.exit(main())
