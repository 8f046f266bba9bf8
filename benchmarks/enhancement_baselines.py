"""Enhancement baselines on synth-noisy test: noisy input, spectral gating, DeepFilterNet3.

    python benchmarks/enhancement_baselines.py --manifest corpora/synth-noisy/test.jsonl --out docs/benchmarks

Scores PESQ-WB, ESTOI, SI-SDR, DNSMOS, Resemblyzer SIM to the clean reference (all against the clean reference),
overall, per noise family and per SNR, with the held-out noise family (the one absent from train, read from the
records' ``extra["heldout"]`` flag or given with --heldout) reported separately, and RTF on the configured threads.
Writes enhancement-<method>.{json,md,png} and enhancement_baselines.{json,md}.
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

from diffs2st.audio import MelConfig, load_audio, save_audio
from diffs2st.data.manifest import EnhancementRecord, read_manifest, resolve_audio
from diffs2st.enhancement import build_enhancer
from diffs2st.evaluation import evaluate, plan_items
from diffs2st.reports import write_report

METRICS = ("pesq", "estoi", "si_sdr", "dnsmos_ovrl", "sim_to_clean")


def _enhance_all(method: str, manifest: Path, records, out_dir: Path) -> float:
    """Enhance every noisy input into out_dir/<id>.wav; returns RTF (wall seconds / audio seconds)."""
    mel = MelConfig()
    enhancer = build_enhancer(method, mel)
    enhancer(load_audio(resolve_audio(manifest, records[0].noisy_audio), mel.sample_rate))  # warm-up
    elapsed = seconds = 0.0
    for record in tqdm(records, desc=method):
        wave = load_audio(resolve_audio(manifest, record.noisy_audio), mel.sample_rate, max_seconds=None)
        start = time.perf_counter()
        enhanced = enhancer(wave)
        elapsed += time.perf_counter() - start
        seconds += wave.size / mel.sample_rate
        save_audio(out_dir / f"{record.id}.wav", enhanced, mel.sample_rate)
    return elapsed / seconds


def _group_means(rows, heldout: set[str]) -> dict:
    groups = {"seen families": [r for r in rows if r["noise_family"] not in heldout],
              "held-out family": [r for r in rows if r["noise_family"] in heldout]}
    for snr in sorted({r["snr_db"] for r in rows if r["snr_db"] is not None}):
        groups[f"SNR {snr:g} dB"] = [r for r in rows if r["snr_db"] == snr]
    for family in sorted({r["noise_family"] for r in rows}):
        groups[f"family {family}"] = [r for r in rows if r["noise_family"] == family]
    return {name: {m: float(np.nanmean([r[m] for r in part])) for m in METRICS} | {"n": len(part)}
            for name, part in groups.items() if part}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="corpora/synth-noisy/test.jsonl")
    parser.add_argument("--out", default="docs/benchmarks")
    parser.add_argument("--heldout", action="append", default=None, help="held-out noise family (repeatable)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads while enhancing (RTF)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    manifest = Path(args.manifest)
    records = read_manifest(manifest, EnhancementRecord)[: args.limit]
    heldout = set(args.heldout or {r.noise_family for r in records if r.extra.get("heldout")})
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for method in ("noisy", "spectral-gating", "deepfilternet3"):
            if method == "noisy":
                items, rtf = plan_items("enhance", manifest, None, noisy=True, limit=args.limit), 0.0
            else:
                out_dir = Path(scratch) / method
                out_dir.mkdir()
                rtf = _enhance_all(method, manifest, records, out_dir)
                items = plan_items("enhance", manifest, out_dir, limit=args.limit)
            summary, rows = evaluate("enhance", items, jobs=args.jobs)
            summary["rtf"] = rtf
            write_report(args.out, f"enhancement-{method}", f"synth-noisy test: {method}", summary, rows,
                         {"kind": "enhance", "manifest": str(manifest), "system": method, "command": command})
            results[method] = {"overall": {m: summary.get(m) for m in METRICS}, "rtf": rtf,
                               "groups": _group_means(rows, heldout)}
    Path(args.out, "enhancement_baselines.json").write_text(
        json.dumps({"command": command, "heldout": sorted(heldout), "results": results}, indent=2) + "\n")
    lines = ["# Enhancement baselines on synth-noisy test", "", "Reproduce with:", "", "```bash", command, "```", "",
             f"Held-out noise family (never in train): {', '.join(sorted(heldout)) or 'none marked'}. "
             f"RTF with {args.threads} torch threads on this machine's CPU.", ""]
    for group in ["seen families", "held-out family"] + sorted(
            {g for r in results.values() for g in r["groups"]} - {"seen families", "held-out family"}):
        lines += [f"## {group}", "", "| method | n | PESQ | ESTOI | SI-SDR (dB) | DNSMOS OVRL | SIM to clean | RTF |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for method, result in results.items():
            g = result["groups"].get(group)
            if g:
                lines.append(f"| {method} | {g['n']} | {g['pesq']:.3f} | {g['estoi']:.3f} | {g['si_sdr']:.2f} | "
                             f"{g['dnsmos_ovrl']:.3f} | {g['sim_to_clean']:.3f} | {result['rtf']:.3f} |")
        lines.append("")
    Path(args.out, "enhancement_baselines.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
