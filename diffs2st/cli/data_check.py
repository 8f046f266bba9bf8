"""`diffs2st data check DIR`: score a built S2ST corpus with the external judges (JSON + Markdown + plot)."""

from __future__ import annotations

import json
from pathlib import Path

from .main import add_command


def _markdown(summary: dict, command: str, plot_name: str) -> str:
    from ..reports import report_heading

    columns = ["utterances", "speakers", "target_wer", "worst_speaker_wer", "eer_target_target",
               "eer_target_target_same_base_voice", "eer_source_target", "sim_same_target_target", "sim_different_target_target", "tgt_seconds_mean",
               "src_seconds_mean", "clipped_fraction"]
    lines = [*report_heading("Corpus self-check", command),
             "| split | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    for name, part in list(summary["splits"].items()) + [("all", summary["overall"])]:
        cells = [f"{part[c]:.3g}" if isinstance(part.get(c), float) else str(part.get(c, "–")) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Goals:", ""] + [f"- {goal}: {'met' if ok else 'NOT met'}" for goal, ok in summary["goals"].items()]
    lines += ["", f"![per-speaker WER]({plot_name})", ""]
    return "\n".join(lines)


def _run(args) -> int:
    from ..audio.io import atomic_write_bytes
    from ..data.selfcheck import check_corpus, plot_selfcheck

    out = Path(args.out or Path(args.corpus) / "selfcheck")
    summary, rows = check_corpus(args.corpus, args.max_per_split, args.jobs, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_selfcheck(summary, out / "selfcheck_wer_by_speaker.png")
    document = {"command": args.command_line, "summary": summary, "per_utterance": rows}
    atomic_write_bytes(out / "selfcheck.json", (json.dumps(document, indent=2) + "\n").encode())
    markdown = _markdown(summary, args.command_line, plot.name)
    atomic_write_bytes(out / "selfcheck.md", markdown.encode())
    print(markdown)
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "check", "score a built S2ST corpus with the external judges")
    parser.add_argument("corpus", help="corpus folder with train/dev/test-*.jsonl manifests")
    parser.add_argument("-o", "--out", default=None, help="report folder (default: CORPUS/selfcheck)")
    parser.add_argument("--max-per-split", type=int, default=200, help="utterances sampled per split")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.set_defaults(func=_run)
