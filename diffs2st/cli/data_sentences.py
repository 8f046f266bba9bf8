"""`diffs2st data sentences --n 10 --seed 0 [--json]`: print French-English pairs from the grammar."""

from __future__ import annotations

import json

from .main import add_command


def _run(args) -> int:
    from ..data.text import generate_pairs

    for pair in generate_pairs(args.n, args.seed):
        if args.json:
            print(json.dumps({"fr": pair.fr, "en": pair.en, "phenomena": list(pair.phenomena)}, ensure_ascii=False))
        else:
            print(f"{pair.fr}\t{pair.en}")
    return 0


def register(subparsers) -> None:
    parser = add_command(subparsers, "sentences", "print French-English sentence pairs from the grammar")
    parser.add_argument("--n", type=int, default=10, help="how many pairs")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", action="store_true", help="JSON lines with the phenomena of each pair")
    parser.set_defaults(func=_run)
