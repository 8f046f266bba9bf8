"""Ceilings of synth-cvss: the judges applied to the reference English audio of the test splits.

    python benchmarks/ceilings.py --corpus corpora/synth-cvss --out docs/benchmarks/ceilings

ASR-BLEU / chrF / WER of the reference targets (pocketsphinx), speaker similarity of two different reference
utterances of the same speaker (the SIM ceiling), of the reference to its own French source (cross-language), and to
a different speaker's reference (the wrong-speaker floor), and DNSMOS. Writes ceiling-<split>.{json,md,png} per split
and ceilings.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from diffs2st.evaluation import evaluate, plan_items
from diffs2st.reports import report_heading, write_report

SPLITS = ("test-seen-speakers", "test-unseen-speakers")
COLUMNS = [("asr_bleu", "ASR-BLEU"), ("asr_chrf", "ASR-chrF"), ("asr_wer", "ASR-WER"),
           ("sim_to_target", "SIM same speaker"), ("sim_wrong_speaker", "SIM wrong speaker"),
           ("sim_to_source", "SIM to French source"), ("dnsmos_ovrl", "DNSMOS OVRL"), ("dnsmos_sig", "DNSMOS SIG")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="corpora/synth-cvss")
    parser.add_argument("--out", default="docs/benchmarks/ceilings")
    parser.add_argument("--limit", type=int, default=None, help="first N records per split")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    results = {}
    for split in SPLITS:
        manifest = Path(args.corpus) / f"{split}.jsonl"
        items = plan_items("s2st", manifest, None, reference=True, limit=args.limit)
        summary, rows = evaluate("s2st", items, jobs=args.jobs)
        write_report(args.out, f"ceiling-{split}", f"synth-cvss {split}: reference audio (ceiling)", summary, rows,
                     {"kind": "s2st", "manifest": str(manifest), "system": "reference", "command": command})
        results[split] = {"utterances": len(rows), **summary}
    Path(args.out, "ceilings.json").write_text(json.dumps({"command": command, "results": results}, indent=2) + "\n")
    lines = [*report_heading("synth-cvss ceilings (reference English audio scored by the judges)", command),
             "SIM same speaker: Resemblyzer cosine between two different reference utterances of one speaker; "
             "SIM wrong speaker: the same against another speaker's reference; SIM to French source: reference "
             "target vs its own espeak-ng source (same speaker, other language).", "",
             "| split | utterances | " + " | ".join(label for _, label in COLUMNS) + " |",
             "|" + " --- |" * (len(COLUMNS) + 2)]
    for split, result in results.items():
        cells = [f"{result[key]:.3f}" if key in result else "–" for key, _ in COLUMNS]
        lines.append(f"| {split} | {result['utterances']} | " + " | ".join(cells) + " |")
    Path(args.out, "ceilings.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
