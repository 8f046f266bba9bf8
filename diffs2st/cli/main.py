"""`diffs2st` command line: argument parsing and I/O only; the work is done by library functions.

Each subcommand lives in its own module of this package with ``register(subparsers)``; add new ones to
`COMMAND_MODULES`. A user error (`Diffs2stError`) prints one line ``error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys

from .. import __version__
from ..errors import Diffs2stError

COMMAND_MODULES = [
    "diffs2st.cli.demo",
    "diffs2st.cli.audio_tools",
    "diffs2st.cli.data",
    "diffs2st.cli.train",
    "diffs2st.cli.generate",
    "diffs2st.cli.eval",
    "diffs2st.cli.enhance",
    "diffs2st.cli.transcribe",
    "diffs2st.cli.translate",
    "diffs2st.cli.bundle",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (except for required options and unset ones) and keeps line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required or action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diffs2st", formatter_class=HelpFormatter,
        description="Direct speech-to-speech translation with diffusion synthesis that keeps the speaker's voice.")
    parser.add_argument("--version", action="version", version=f"diffs2st {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def add_command(subparsers, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand parser with the shared formatter (shows defaults)."""
    return subparsers.add_parser(name, help=help, description=description or help, formatter_class=HelpFormatter)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = "diffs2st " + shlex.join(argv)  # recorded in reports and metrics for reproduction
    try:
        result = args.func(args)
    except Diffs2stError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
