"""Vocoder benchmark: resynthesise held-out speech from its log-mel and judge the copy against the original.

    python benchmarks/vocoders.py --manifest corpora/synth-cvss/test-unseen-speakers.jsonl \
        [--checkpoint runs/vocoder-istft/model ...] [--refine-iters 0 8 16 32] [--bundled ROW] [--limit 50]

Vocoders: Griffin-Lim with 32 and 64 iterations (``--griffin-lim-iters``), plus every checkpoint directory given.
Judges (DESIGN §5, `diffs2st.judges`): Moonshine base-en WER against the transcript (mean over clips; pocketsphinx
beside it), Resemblyzer cosine similarity to the original, PESQ-WB vs the original, DNSMOS overall, and RTF (2 CPU
threads, after a warm-up). The originals are scored too (the ceiling). Results go to docs/benchmarks/vocoders/:
vocoders.json, .md and .png;
``--render vocoders.json [--bundled ROW]`` re-renders a stored run without measuring.
``--error-sources`` (one iSTFT checkpoint) instead splits its WER gap between magnitude and phase: WER only, of the
vocoder, of its magnitude with the original's phase, and of the original's magnitude with its phase (+ the same
Griffin-Lim refinement); written to vocoder-error-sources.json and .md.
Not run by the tests (minutes of CPU).
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffs2st.audio import DEFAULT_MEL, MelConfig, istft, load_audio, log_mel, reconstruct_phase, stft
from diffs2st.data.manifest import S2STRecord, SpeechRecord, read_manifest, resolve_audio
from diffs2st.judges import ASR_CHOICES, DEFAULT_ASR, build_judge
from diffs2st.plotting import save_figure, subplots
from diffs2st.reports import format_mean_error, mean_and_standard_error, report_heading, write_json, write_markdown
from diffs2st.vocoders import load_vocoder

OUT_DIR = Path(__file__).parents[1] / "docs" / "benchmarks" / "vocoders"


def score(judges: dict, wave: np.ndarray, original: np.ndarray, text: str) -> dict:
    """The judges (`diffs2st.judges`) on one resynthesised clip against its original."""
    scores = {key: value for key, value in judges["asr"](wave, text).items() if key.startswith("wer")}
    if "speaker" in judges:  # absent with --wer-only
        scores.update({"sim": judges["speaker"](wave, original)["similarity"],
                       "pesq_wb": judges["pesq"](wave, original)["pesq"],
                       "dnsmos_ovrl": judges["dnsmos"](wave)["dnsmos_ovrl"]})
    return scores


def clips(manifest: Path, limit: int | None) -> list[tuple[Path, str]]:
    """(audio path, transcript) pairs: the English target side of S2ST records, or speech records."""
    first = json.loads(next(line for line in manifest.read_text().splitlines() if line.strip()))
    if "src_audio" in first:
        pairs = [(resolve_audio(manifest, r.tgt_audio), r.tgt_text) for r in read_manifest(manifest, S2STRecord)
                 if r.tgt_audio]
    else:
        pairs = [(resolve_audio(manifest, r.audio), r.text) for r in read_manifest(manifest, SpeechRecord)]
    return pairs[:limit] if limit else pairs


def benchmark_one(name: str, vocoder, items: list[tuple[np.ndarray, str]], judges: dict, mel: MelConfig) -> dict:
    """Mean judge scores and RTF of ``vocoder`` over ``items`` (original wave, transcript); ``vocoder`` None scores
    the originals themselves (the ceiling)."""
    scores, seconds, elapsed = [], 0.0, 0.0
    if vocoder is not None:  # warm-up, so one-off allocation is not counted in the RTF
        with torch.inference_mode():
            vocoder(log_mel(items[0][0], mel))
    for original, text in tqdm(items, desc=name, leave=False):
        wave = original
        if vocoder is not None:
            spectrogram = log_mel(original, mel)
            start = time.perf_counter()
            with torch.inference_mode():
                wave = vocoder(spectrogram).numpy()
            elapsed += time.perf_counter() - start
            seconds += len(wave) / mel.sample_rate
        scores.append(score(judges, wave, original[:len(wave)], text))
    summary = {key: float(np.mean([s[key] for s in scores])) for key in scores[0]}
    summary["rtf"] = elapsed / seconds if vocoder is not None else None
    summary["threads"] = torch.get_num_threads()
    for key in [k for k in scores[0] if k.startswith("wer")]:
        summary[f"clip_{key}"] = [s[key] for s in scores]
    return summary


def error_sources(vocoder, items: list[tuple[np.ndarray, str]], asr, mel: MelConfig) -> dict:
    """Per-clip WER of the originals, of ``vocoder`` (an iSTFT vocoder), and of two resyntheses that each take one
    half from the original's STFT: its magnitude with the original's phase, the original's magnitude with its phase
    (refined by the vocoder's own Griffin-Lim iterations). Each row: {"wer", "clip_wer"}, as `add_wer_gaps` takes."""
    rows: dict[str, list[float]] = {name: [] for name in ERROR_SOURCE_ROWS}
    for original, text in tqdm(items, desc="error sources", leave=False):
        wave = torch.as_tensor(original)
        true = stft(wave, mel)
        with torch.inference_mode():
            spectrum = vocoder.corrected_spectrum(log_mel(wave, mel)[None])  # what vocoder(mel) inverts
            predicted = spectrum[0]
            waves = [wave, vocoder.waveform(spectrum, vocoder.refine_iters)[0],
                     istft(torch.polar(predicted.abs(), true.angle()), mel, len(wave)),
                     reconstruct_phase(true.abs(), mel, len(wave), vocoder.refine_iters, phase=predicted.angle())]
        for name, resynthesis in zip(ERROR_SOURCE_ROWS, waves):
            rows[name].append(asr(resynthesis.numpy(), text)["wer"])
    return {name: {"wer": float(np.mean(wers)), "clip_wer": wers} for name, wers in rows.items()}


ERROR_SOURCE_ROWS = ("original (ceiling)", "vocoder", "vocoder magnitude + original phase",
                     "original magnitude + vocoder phase")


def error_sources_markdown(results: dict, manifest: Path, count: int, command: str, refine_iters: int) -> str:
    lines = [*report_heading("Where the vocoder's WER gap comes from", command),
             f"{count} clips of `{manifest}`, Moonshine base-en WER against the transcript. Each resynthesis takes the "
             "STFT magnitude and phase (n_fft/hop of the MelConfig) from the vocoder or from the original clip; a "
             f"vocoder phase is refined by the vocoder's {refine_iters} Griffin-Lim iterations. Gap: WER minus the "
             "original's on the same clips, ± its standard error.", "",
             "| resynthesis | WER ↓ | WER gap |", "| --- | --- | --- |"]
    for name, r in results.items():
        gap = "—" if name == ERROR_SOURCE_ROWS[0] else format_mean_error(r["wer_gap"], r["wer_gap_se"], signed=True)
        lines.append(f"| {name} | {r['wer']:.3f} | {gap} |")
    return "\n".join(lines + [""])


def add_wer_gaps(results: dict) -> None:
    """Each vocoder's WER minus the original's, paired over the same clips, with its standard error (for every
    ASR judge measured: wer_gap is the primary one's, wer_pocketsphinx_gap pocketsphinx's)."""
    ceiling = results["original (ceiling)"]
    for key in [k[len("clip_"):] for k in ceiling if k.startswith("clip_wer")]:
        original = np.asarray(ceiling[f"clip_{key}"])
        for r in results.values():
            r[f"{key}_gap"], r[f"{key}_gap_se"] = mean_and_standard_error(np.asarray(r[f"clip_{key}"]) - original)


def goal_lines(results: dict, name: str) -> list[str]:
    """The issue's goals for the bundled vocoder ``name`` against the originals."""
    ours, original = results[name], results["original (ceiling)"]
    checks = [(f"WER within 2 points of the original ({original['wer']:.3f})", ours["wer_gap"] <= 0.02,
               f"{ours['wer']:.3f} (gap {format_mean_error(ours['wer_gap'], ours['wer_gap_se'], signed=True)} s.e.)")]
    if "sim" in ours:  # not measured with --wer-only
        checks += [("SIM >= 0.95", ours["sim"] >= 0.95, f"{ours['sim']:.3f}"),
                   ("PESQ-WB >= 3.0", ours["pesq_wb"] >= 3.0, f"{ours['pesq_wb']:.2f}")]
    checks.append((f"RTF <= 0.05 ({ours.get('threads', 2)} threads)", ours["rtf"] <= 0.05, f"{ours['rtf']:.4f}"))
    return [f"{goal}: {value} -> {'met' if met else 'NOT met'}" for goal, met, value in checks]


def to_markdown(results: dict, manifest: Path, count: int, command: str, bundled: str | None) -> str:
    second = all("wer_pocketsphinx" in r for r in results.values())
    lines = [*report_heading("Vocoder resynthesis benchmark", command),
             f"{count} clips of `{manifest}` (speakers no vocoder was trained on), English targets; each clip's "
             "log-mel is vocoded and judged against the original: Moonshine base-en WER against the transcript "
             "(pocketsphinx's beside it where measured), "
             "Resemblyzer SIM and PESQ-WB against the original wave, DNSMOS OVRL. RTF: vocoding seconds per second "
             f"of audio at {next((r['threads'] for r in results.values() if 'threads' in r), 2)} CPU thread(s). "
             "`+GL n`: the iSTFT vocoder's phase refined by n Griffin-Lim iterations. "
             "WER gap: the vocoder's WER minus the original's on the same clips, ± its standard error over clips.", "",
             "| vocoder | WER ↓ | WER gap | SIM ↑ | PESQ-WB ↑ | DNSMOS ↑ | RTF ↓ |"
             + (" WER pocketsphinx | gap pocketsphinx |" if second else ""), "|" + " --- |" * (9 if second else 7)]
    for name, r in results.items():
        rtf = "—" if r["rtf"] is None else f"{r['rtf']:.4f}"
        gap = "—" if r["rtf"] is None else format_mean_error(r["wer_gap"], r["wer_gap_se"], signed=True)
        others = " | ".join(f"{r[key]:{form}}" if key in r else "—"
                            for key, form in (("sim", ".3f"), ("pesq_wb", ".2f"), ("dnsmos_ovrl", ".2f")))
        line = f"| {name} | {r['wer']:.3f} | {gap} | {others} | {rtf} |"
        if second:
            gap = ("—" if r["rtf"] is None
                   else format_mean_error(r["wer_pocketsphinx_gap"], r["wer_pocketsphinx_gap_se"], signed=True))
            line += f" {r['wer_pocketsphinx']:.3f} | {gap} |"
        lines.append(line)
    if bundled:
        lines += ["", f"## Goals for the bundled vocoder (`{bundled}`)", ""]
        lines += [f"- {line}" for line in goal_lines(results, bundled)]
    lines += ["", "![PESQ against RTF](vocoders.png)", ""] if all("pesq_wb" in r for r in results.values()) else [""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    figure, axis = subplots(figsize=(6.4, 3.6))
    for name, r in results.items():
        if r["rtf"] is None:
            axis.axhline(r["pesq_wb"], color="gray", linestyle="--", linewidth=1, label="original")
            continue
        axis.scatter(r["rtf"], r["pesq_wb"])
        axis.annotate(name, (r["rtf"], r["pesq_wb"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    axis.axhline(3.0, color="gray", linestyle=":", linewidth=1, label="goal PESQ 3.0")
    axis.axvline(0.05, color="gray", linestyle=":", linewidth=1)
    axis.set_xscale("log")
    axis.set_xlabel("RTF (2 CPU threads)")
    axis.set_ylabel("PESQ-WB vs original")
    axis.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("corpora/synth-cvss/test-unseen-speakers.jsonl"))
    parser.add_argument("--checkpoint", action="append", default=[], help="trained vocoder directory (repeatable)")
    parser.add_argument("--refine-iters", type=int, nargs="+", default=None,
                        help="for iSTFT vocoders: evaluate each of these phase-refinement settings (default: the "
                             "checkpoint's own)")
    parser.add_argument("--bundled", default=None, help="row name whose goals are checked (e.g. 'pretrained/vocoder "
                                                          "+GL 16')")
    parser.add_argument("--griffin-lim-iters", type=int, nargs="*", default=[32, 64],
                        help="Griffin-Lim rows to include (none: skip them, for a quick comparison of checkpoints)")
    parser.add_argument("--limit", type=int, default=50, help="clips to judge (0: all)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--error-sources", action="store_true",
                        help="WER only: split one iSTFT checkpoint's gap between its magnitude and its phase")
    parser.add_argument("--asr", choices=tuple(ASR_CHOICES), default=DEFAULT_ASR, help="English ASR judge(s)")
    parser.add_argument("--wer-only", action="store_true",
                        help="run only the ASR judge(s): SIM, PESQ and DNSMOS columns stay empty (DNSMOS alone costs "
                             "~3 CPU s a clip)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads the vocoders run on (RTF)")
    parser.add_argument("--original-from", type=Path, default=None, metavar="CEILING.json",
                        help="with --wer-only --asr moonshine: the originals' row from a judges-v2 ceiling report of "
                             "the same clips (docs/benchmarks/ceilings/ceiling-test-unseen-speakers.json) instead of "
                             "judging them again")
    parser.add_argument("--carry-from", type=Path, default=None, metavar="VOCODERS.json",
                        help="with --wer-only: SIM, PESQ-WB, DNSMOS and RTF of every row from an earlier report of "
                             "the same clips and vocoders (none of them depends on the ASR judge); only the ASR "
                             "judge(s) run")
    parser.add_argument("--render", type=Path, default=None,
                        help="measure nothing: re-render this vocoders.json (e.g. with another --bundled row)")
    args = parser.parse_args(argv)
    if args.render is not None:
        report = json.loads(args.render.read_text())
        return write_report(report["results"], Path(report["manifest"]), report["clips"], report["command"],
                            args.bundled, args.out_dir)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    if args.carry_from is not None and not args.wer_only:
        raise SystemExit("--carry-from goes with --wer-only (it replaces the other judges' columns)")
    torch.set_num_threads(args.threads)
    mel = DEFAULT_MEL  # the corpus clips' front end; every vocoder compared must have been trained on it
    if args.error_sources and (len(args.checkpoint) != 1 or len(args.refine_iters or []) > 1):
        raise SystemExit("--error-sources takes exactly one --checkpoint and at most one --refine-iters value")
    items = [(load_audio(path, mel.sample_rate, max_seconds=None), text) for path, text in clips(args.manifest,
                                                                                                 args.limit)]
    if args.error_sources:
        vocoder = load_vocoder(args.checkpoint[0], refine_iters=args.refine_iters[0] if args.refine_iters else None,
                               mel=mel)
        if not hasattr(vocoder, "corrected_spectrum"):
            raise SystemExit(f"--error-sources needs an iSTFT vocoder, not {args.checkpoint[0]}")
        results = error_sources(vocoder, items, build_judge("asr", mel, recognizers=ASR_CHOICES["moonshine"]), mel)
        add_wer_gaps(results)
        report = {"manifest": str(args.manifest), "clips": len(items), "command": command, "results": results}
        write_files(args.out_dir, "vocoder-error-sources", report,
                    error_sources_markdown(results, args.manifest, len(items), command, vocoder.refine_iters))
        return 0
    judges = {} if args.wer_only else {name: build_judge(name, mel) for name in ("speaker", "pesq", "dnsmos")}
    judges["asr"] = build_judge("asr", mel, recognizers=ASR_CHOICES[args.asr])
    vocoders = {"original (ceiling)": None}
    vocoders.update({f"griffin-lim-{n}": load_vocoder("griffin-lim", iters=n, mel=mel) for n in args.griffin_lim_iters})
    for path in args.checkpoint:
        vocoder = load_vocoder(path, mel=mel)
        if hasattr(vocoder, "refine_iters") and args.refine_iters:
            for iters in args.refine_iters:  # one model, several inference settings: shallow copies share weights
                vocoders[f"{path} +GL {iters}"] = copy.copy(vocoder)
                vocoders[f"{path} +GL {iters}"].refine_iters = iters
        else:
            vocoders[str(path)] = vocoder
    require_row(args.bundled, vocoders)  # before the judges run
    if args.original_from is not None:  # the originals were judged already, by the same ASR judge
        del vocoders["original (ceiling)"]
    carried = carried_rows(args.carry_from, args.manifest, len(items), vocoders) if args.carry_from else {}
    results = {name: benchmark_one(name, vocoder, items, judges, mel) for name, vocoder in vocoders.items()}
    for name, measured in carried.items():
        results[name].update(measured)
    if args.original_from is not None:
        results = {"original (ceiling)": stored_originals(args.original_from, clips(args.manifest, args.limit)),
                   **results}
    add_wer_gaps(results)
    return write_report(results, args.manifest, len(items), command, args.bundled, args.out_dir)


def stored_originals(report_path: Path, pairs: list[tuple[Path, str]]) -> dict:
    """The "original (ceiling)" row from a judges-v2 s2st ceiling report (`benchmarks/ceilings.py`) of the same
    clips: its per-utterance WER is the ASR judge on exactly these reference targets. --wer-only runs only."""
    rows = read_judges_v2_report(report_path, wait_seconds=3600)["per_utterance"]  # a ceilings run may be writing it
    if [row["reference"] for row in rows[:len(pairs)]] != [text for _, text in pairs] or len(rows) < len(pairs):
        raise SystemExit(f"{report_path} did not judge the same clips, in the same order")
    wers = [row["wer"] for row in rows[:len(pairs)]]
    return {"wer": float(np.mean(wers)), "clip_wer": wers, "rtf": None}


CARRIED_KEYS = ("sim", "pesq_wb", "dnsmos_ovrl", "rtf", "threads")


def carried_rows(report_path: Path, manifest: Path, count: int, vocoders: dict) -> dict[str, dict]:
    """Per row, the measurements that do not depend on the ASR judge from an earlier vocoders.json of the same
    clips; every row measured now must be in it. Reports older than the --threads option ran at 2 threads."""
    report = json.loads(report_path.read_text())
    if report["manifest"] != str(manifest) or report["clips"] != count:
        raise SystemExit(f"{report_path} judged {report['clips']} clips of {report['manifest']}, not {count} of "
                         f"{manifest}")
    missing = [name for name in vocoders if name not in report["results"]]
    if missing:
        raise SystemExit(f"{report_path} has no row {missing[0]!r} (it has {list(report['results'])})")
    return {name: {"threads": 2, **{key: report["results"][name][key] for key in CARRIED_KEYS
                                    if key in report["results"][name]}} for name in vocoders}


def require_row(bundled: str | None, rows: dict) -> None:
    """``--bundled`` must name one of the rows (when given)."""
    if bundled and bundled not in rows:
        raise SystemExit(f"--bundled {bundled!r} is not one of the rows: {list(rows)}")


def write_report(results: dict, manifest: Path, count: int, command: str, bundled: str | None, out_dir: Path) -> int:
    """vocoders.json, .md and .png in ``out_dir``; goals checked for the ``bundled`` row."""
    require_row(bundled, results)
    report = {"manifest": str(manifest), "clips": count, "command": command, "results": results,
              "goals": goal_lines(results, bundled) if bundled else []}
    write_files(out_dir, "vocoders", report, to_markdown(results, manifest, count, command, bundled))
    if all("pesq_wb" in r for r in results.values()):  # not with --wer-only
        plot(results, out_dir / "vocoders.png")
    return 0


def write_files(out_dir: Path, stem: str, report: dict, markdown: str) -> None:
    """``stem``.json and ``stem``.md in ``out_dir`` (atomically); the Markdown is printed too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / f"{stem}.json", report)
    write_markdown(out_dir / f"{stem}.md", markdown)
    print(markdown)


if __name__ == "__main__":
    sys.exit(main())
