"""`diffs2st eval KIND MANIFEST (--outputs DIR | --reference | --noisy) --out DIR`: score any system's outputs."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError
from .main import add_command

# diffs2st.evaluation.KINDS.names(), and the keys of diffs2st.judges.ASR_CHOICES with DEFAULT_ASR, written out so
# that `--help` imports no judges (torch); tests/test_cold_start.py keeps them equal.
KIND_NAMES = ("digits", "enhance", "s2st", "st", "vocoder")
ASR_NAMES, DEFAULT_ASR = ("moonshine", "pocketsphinx", "both"), "both"


def _run(args) -> int:
    from ..audio import DEFAULT_MEL
    from ..evaluation import evaluate, plan_items, rejudge_asr
    from ..judges import ASR_CHOICES
    from ..judges.asr import moonshine_runtime
    from ..reports import markdown_table, write_report

    items = plan_items(args.kind, args.manifest, args.outputs, reference=args.reference, noisy=args.noisy,
                       limit=args.limit)
    ceiling = None
    if args.ceiling:
        path = Path(args.ceiling)
        if not path.is_file():
            raise DataError(f"no ceiling report at {path}")
        ceiling = json.loads(path.read_text())["summary"]
    if args.rejudge_from and args.cache:
        raise DataError("--cache keeps judged rows of a run that judges; --rejudge-from re-runs one judge: pick one")
    if args.rejudge_from:
        previous = Path(args.rejudge_from)
        if not previous.is_file():
            raise DataError(f"no stored report at {previous}")
        summary, rows = rejudge_asr(args.kind, items, json.loads(previous.read_text())["per_utterance"], DEFAULT_MEL,
                                    jobs=args.jobs)
    else:
        summary, rows = evaluate(args.kind, items, DEFAULT_MEL, jobs=args.jobs, asr=args.asr, cache=args.cache)
    system = "reference (ceiling)" if args.reference else "noisy input" if args.noisy else str(args.outputs)
    recognizers = ASR_CHOICES["both" if args.rejudge_from else args.asr]
    meta = {"kind": args.kind, "manifest": str(args.manifest), "system": system, "asr": recognizers,
            "moonshine_runtime": moonshine_runtime() if "moonshine" in recognizers else None,
            "command": args.command_line}
    paths = write_report(args.out, args.name, f"{args.kind} evaluation: {system}", summary, rows, meta, ceiling)
    print(markdown_table(summary, ceiling))
    print(f"\nreport: {paths['markdown']} (+ .json, plots)")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "eval", "score outputs with the independent judges (JSON + Markdown + plots)")
    parser.add_argument("kind", choices=KIND_NAMES, help="what is evaluated")
    parser.add_argument("manifest", help="JSONL manifest of the test set")
    parser.add_argument("--outputs", help="folder of <id>.wav outputs (or, for st, a hypotheses JSONL/folder)")
    parser.add_argument("--reference", action="store_true", help="score the references themselves (the ceiling)")
    parser.add_argument("--noisy", action="store_true", help="enhance only: score the unprocessed noisy input")
    parser.add_argument("--ceiling", help="a ceiling report (.json) to print fractions of")
    parser.add_argument("-o", "--out", required=True, help="report folder")
    parser.add_argument("--name", default="report", help="report file name (without extension)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the judges")
    parser.add_argument("--rejudge-from", metavar="REPORT.json",
                        help="s2st/vocoder: a stored report of the same outputs made under the pocketsphinx-only "
                             "judge; run only Moonshine and carry every other score over (pocketsphinx's "
                             "transcript becomes its second column)")
    parser.add_argument("--asr", choices=ASR_NAMES, default=DEFAULT_ASR,
                        help="English ASR judge(s): Moonshine base-en, pocketsphinx, or both (Moonshine first: its "
                             "scores are the unsuffixed ones, pocketsphinx's carry _pocketsphinx)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N records")
    parser.add_argument("--cache", metavar="ROWS.jsonl", default=None,
                        help="keep every judged row in this JSONL file as it is made, and reuse the rows it already "
                             "holds (same record, output content, partner records, judges and judge code), so a "
                             "killed run started again judges only the rest; off unless given")
    parser.set_defaults(func=_run)
