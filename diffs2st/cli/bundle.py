"""`diffs2st bundle RUN/model pretrained/NAME --recipe "..."`: copy a trained checkpoint into the bundled set as fp16
(half the bytes; loading casts back to the model's dtype) with its recipe recorded in metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError
from .main import add_command


def _run(args) -> int:
    from ..checkpoint import load_checkpoint, save_checkpoint

    source, target = Path(args.source), Path(args.target)
    if source.resolve() == target.resolve():
        raise CheckpointError("source and target are the same folder")
    checkpoint = load_checkpoint(source)
    metrics = dict(checkpoint.metrics)
    if args.recipe:
        metrics["recipe"] = args.recipe
    if args.benchmark:
        metrics["benchmark_command"] = args.benchmark
    save_checkpoint(target, checkpoint.model, metrics, half=not args.fp32)
    size = sum(p.stat().st_size for p in target.iterdir()) / 2 ** 20
    print(f"bundled {source} -> {target} ({size:.1f} MiB{'' if args.fp32 else ', fp16'})")
    print(json.dumps(metrics, indent=2, sort_keys=True))
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "bundle")
    parser.add_argument("source", help="checkpoint directory (e.g. runs/s2st-synthesizer/model)")
    parser.add_argument("target", help="destination checkpoint directory (e.g. pretrained/synthesizer)")
    parser.add_argument("--recipe", default=None, help="how it was trained (commands, time), kept in metrics.json")
    parser.add_argument("--benchmark", default=None, help="the command that measured it, kept in metrics.json")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 weights")
    parser.set_defaults(func=_run)
