"""Does Moonshine hear the same through onnxruntime as through its own library? (judges: `MoonshineASR(runtime=...)`)

    python benchmarks/moonshine_runtimes.py --manifest corpora/synth-cvss-v2/test-unseen-voices.jsonl \
        --limit 100 [--stored-wer docs/benchmarks/vocoders/v2-unseen-voices/vocoders.json] \
        --out docs/benchmarks/judges/moonshine-runtimes

The English target clips of the first ``--limit`` records, transcribed by Moonshine base-en run with onnxruntime
(`diffs2st.judges.moonshine_onnx`) and, where the moonshine-cpp library runs on this CPU (it needs AVX-512), by the
library too: equal transcripts, WER of each, wall-clock seconds of each. Where the library cannot run,
``--stored-wer`` compares with per-clip WER the library measured earlier on the same clips (the "original
(ceiling)" row of a `benchmarks/vocoders.py` report, or a judges-v2 ceiling report, made on the same manifest).
Corpus audio is bit-identical across machines for espeak-ng and flite, not for Kokoro (its int8 ONNX model's
numerics vary by CPU), so the breakdown is by voice family (corpus v1's English is flite). Writes
moonshine_runtimes.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.data.manifest import S2STRecord, read_manifest, resolve_audio
from diffs2st.judges.asr import MoonshineASR, library_problem
from diffs2st.judges.text import utterance_wer
from diffs2st.reports import report_heading, write_json, write_markdown


def transcribe_all(asr: MoonshineASR, waves: list[np.ndarray], desc: str) -> tuple[list[str], float]:
    """Transcripts and the wall-clock seconds they took (the library works in a child process)."""
    start = time.perf_counter()
    texts = [asr.transcribe(wave) for wave in tqdm(waves, desc=desc, leave=False)]
    return texts, time.perf_counter() - start


def stored_clip_wer(report: dict) -> list[float]:
    """Per-clip Moonshine WER of the reference clips from a `benchmarks/vocoders.py` report (its originals' row) or a
    judges-v2 ceiling / `diffs2st eval --reference` report (per_utterance)."""
    if "results" in report:
        return report["results"]["original (ceiling)"]["clip_wer"]
    if report.get("asr", ["moonshine"])[0] != "moonshine":
        raise SystemExit("that report's first ASR judge is not Moonshine")
    return [row["wer"] for row in report["per_utterance"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, required=True, help="S2ST manifest (its English target clips)")
    parser.add_argument("--limit", type=int, default=100, help="first N records (0: all)")
    parser.add_argument("--stored-wer", type=Path, default=None,
                        help="a report that judged the same manifest's clips in order with the library: a "
                             "vocoders.py report (its originals' row) or a ceiling / eval --reference report")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/judges/moonshine-runtimes"))
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    records = [r for r in read_manifest(args.manifest, S2STRecord) if r.tgt_audio][:args.limit or None]
    waves = [load_audio(resolve_audio(args.manifest, r.tgt_audio), DEFAULT_MEL.sample_rate) for r in records]
    asr = MoonshineASR(DEFAULT_MEL, runtime="onnxruntime")
    library_error = library_problem()
    said = library_error and library_error[0].upper() + library_error[1:]  # a sentence in the report
    runs = {"onnxruntime": transcribe_all(asr, waves, "onnxruntime")}
    if library_error is None:
        runs["library"] = transcribe_all(MoonshineASR(DEFAULT_MEL, runtime="library"), waves, "library")
    stored = None
    if args.stored_wer is not None:
        stored = stored_clip_wer(json.loads(args.stored_wer.read_text()))
        if len(stored) < len(records):
            raise SystemExit(f"{args.stored_wer} holds {len(stored)} clips, this run {len(records)}: lower --limit")
        stored = stored[:len(records)]
    rows = []
    for index, record in enumerate(records):
        spec = record.speaker_spec or {}
        row = {"id": record.id, "family": spec.get("family") or ("flite" if "flite_voice" in spec else "?")}
        for runtime, (texts, _) in runs.items():
            row[f"transcript_{runtime}"] = texts[index]
            row[f"wer_{runtime}"] = utterance_wer(texts[index], record.tgt_text)
        if stored is not None:
            row["wer_library_stored"] = stored[index]
        rows.append(row)
    reference = "library" if "library" in runs else "library_stored" if stored is not None else None
    families = sorted({row["family"] for row in rows})
    summary = {"clips": len(rows), "library_runs_here": library_error is None, "library_problem": library_error,
               "seconds": {runtime: seconds for runtime, (_, seconds) in runs.items()},
               "wer": {name: float(np.mean([row[f"wer_{name}"] for row in rows]))
                       for name in [*runs, *(["library_stored"] if stored is not None else [])]}}
    if reference is not None:
        key = "transcript" if reference == "library" else "wer"

        def agree(row):
            return row[f"{key}_onnxruntime"] == row[f"{key}_{reference}"]
        summary["compared_with"] = reference
        summary["agree"] = {family: [sum(agree(r) for r in rows if r["family"] == family),
                                     sum(r["family"] == family for r in rows)] for family in families}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "moonshine_runtimes.json", {"command": command, "manifest": str(args.manifest),
                                                      "summary": summary, "per_clip": rows})
    lines = [*report_heading("Moonshine base-en: onnxruntime vs its own library", command),
             f"{len(rows)} English target clips of `{args.manifest}`. "
             + ("The library runs on this CPU: both runtimes transcribed every clip." if library_error is None else
                f"{said}. So onnxruntime's transcripts are compared with the per-clip WER the library "
                f"measured earlier on the same clips (`{args.stored_wer}`)." if stored is not None else
                f"{said}: nothing to compare with."), ""]
    if reference is not None:
        what = "identical transcripts" if reference == "library" else "equal per-clip WER"
        lines += [f"| voice family | clips | {what} |", "|---|---|---|"]
        lines += [f"| {family} | {n} | {same} |" for family, (same, n) in summary["agree"].items()]
        lines += [""]
    lines += ["| runtime | mean WER | seconds |", "|---|---|---|"]
    lines += [f"| {name} | {wer:.4f} | {seconds:.0f} |" if (seconds := summary["seconds"].get(name)) is not None
              else f"| {name} | {wer:.4f} | (not timed here) |" for name, wer in summary["wer"].items()]
    lines += ["", "Kokoro clips are not bit-identical across machines (a stored WER was measured on slightly "
              "different audio); espeak-ng and flite clips are.", ""]
    write_markdown(args.out / "moonshine_runtimes.md", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
