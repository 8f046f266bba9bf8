"""A quick dev screen: Moonshine ASR-BLEU per voice family of S2ST output folders, and nothing else.

    python benchmarks/asr_screen.py corpora/synth-cvss-v2/dev-200.jsonl --outputs out/dev/A out/dev/B \
        --out docs/benchmarks/s2st/pitch-experiment/screen

For choosing settings or checkpoints on a dev split: the ASR-BLEU, WER and family breakdown of
`diffs2st eval s2st --asr moonshine` (the same judge, normaliser and corpus BLEU), without the similarity, pitch and
DNSMOS judges that make a full report three times slower. Where a folder holds the ``translations.jsonl`` that
`diffs2st translate` writes, the text BLEU of the English each output speaks is given beside its ASR-BLEU (what the
translator lost, apart from what the synthesis lost). Each folder's transcripts are kept in
``<folder>/asr_screen.jsonl`` as they are made (keyed by record and output bytes), so a stopped screen resumes and a
second screen of the same folder costs nothing. Writes asr_screen.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from tqdm import tqdm

from diffs2st.audio import DEFAULT_MEL, load_audio
from diffs2st.data.manifest import S2STRecord, read_manifest
from diffs2st.digests import file_sha256
from diffs2st.evaluation import asr_summary, rows_by_family, voice_label
from diffs2st.judges.asr import MoonshineASR, moonshine_runtime
from diffs2st.judges.text import text_scores
from diffs2st.reports import report_heading, write_json, write_markdown


def transcripts(asr: MoonshineASR, records: list[S2STRecord], folder: Path) -> list[str]:
    """Moonshine's transcript of ``folder/<id>.wav`` for each record, reusing those kept in asr_screen.jsonl."""
    kept_path = folder / "asr_screen.jsonl"
    kept = {}
    if kept_path.is_file():
        for line in kept_path.read_text().splitlines():
            row = json.loads(line)
            kept[(row["id"], row["sha256"])] = row["transcript"]
    texts = []
    with open(kept_path, "a") as handle:
        for record in tqdm(records, desc=folder.name, leave=False):
            wav = folder / f"{record.id}.wav"
            if not wav.is_file():
                raise SystemExit(f"{wav} is missing: translate the whole manifest first")
            key = (record.id, file_sha256(wav))
            if key not in kept:
                kept[key] = asr.transcribe(load_audio(wav, DEFAULT_MEL.sample_rate))
                handle.write(json.dumps({"id": key[0], "sha256": key[1], "transcript": kept[key]}) + "\n")
                handle.flush()
            texts.append(kept[key])
    return texts


def spoken_texts(records: list[S2STRecord], folder: Path) -> list[str] | None:
    """The English text each output of ``folder`` speaks, from its translations.jsonl (None without one, or with
    one that misses records: then said on stderr)."""
    path = folder / "translations.jsonl"
    if not path.is_file():
        return None
    texts = {row["id"]: row["tgt_text"] for row in map(json.loads, path.read_text().splitlines())}
    missing = [record.id for record in records if record.id not in texts]
    if missing:
        print(f"{path} has no translation of {missing[0]} and {len(missing) - 1} more records: no text BLEU for "
              f"{folder}", file=sys.stderr)
        return None
    return [texts[record.id] for record in records]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path, help="S2ST manifest the outputs translate")
    parser.add_argument("--outputs", nargs="+", type=Path, required=True, help="folders of <id>.wav outputs")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    records = read_manifest(args.manifest, S2STRecord)
    asr = MoonshineASR(DEFAULT_MEL)
    results = []
    for folder in args.outputs:  # rows as `diffs2st eval s2st` makes them, scored by its own summaries
        spoken = spoken_texts(records, folder)
        rows = [{"voice": voice_label(record), "transcript": text, "reference": record.tgt_text, "spoken": said}
                for record, text, said in zip(records, transcripts(asr, records, folder),
                                              spoken or [None] * len(records))]
        groups = {"all": rows, **rows_by_family(rows)}
        row = {"outputs": str(folder)}
        for name, mine in groups.items():
            summary = asr_summary(mine, ("bleu", "wer"))
            row[name] = {"asr_bleu": summary["asr_bleu"], "asr_wer": summary["asr_wer"], "utterances": len(mine)}
            if spoken:
                scores = text_scores([r["spoken"] for r in mine], [r["reference"] for r in mine])
                row[name]["text_bleu"] = scores["bleu"]
        results.append(row)
        print(folder, {name: round(row[name]["asr_bleu"], 1) for name in groups}, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "asr_screen.json", {"command": command, "manifest": str(args.manifest),
                                              "judge": "moonshine", "moonshine_runtime": moonshine_runtime(),
                                              "results": results})
    names = [name for name in results[0] if name != "outputs"]
    lines = [*report_heading("ASR screen: Moonshine ASR-BLEU per voice family", command),
             f"{len(records)} records of `{args.manifest}`; Moonshine base-en ({moonshine_runtime()}). "
             "ASR-BLEU (ASR WER).",
             "", "| outputs | " + " | ".join(f"{name} ({results[0][name]['utterances']})" for name in names) + " |",
             "|---|" + "---|" * len(names)]
    lines += [f"| `{row['outputs']}` | " + " | ".join(f"{row[name]['asr_bleu']:.1f} ({row[name]['asr_wer']:.3f})"
                                                      for name in names) + " |" for row in results]
    spoken = [row for row in results if "text_bleu" in row["all"]]
    if spoken:
        lines += ["", "Text BLEU of the English each output speaks (its folder's translations.jsonl; the same "
                  "normaliser):", "", "| outputs | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        lines += [f"| `{row['outputs']}` | " + " | ".join(f"{row[name]['text_bleu']:.1f}" for name in names) + " |"
                  for row in spoken]
    write_markdown(args.out / "asr_screen.md", [*lines, ""])
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
