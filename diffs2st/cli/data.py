"""`diffs2st data ...`: corpus commands. Each sub-subcommand lives in its own module with ``register(subparsers)``."""

from __future__ import annotations

import importlib

from .main import add_command

DATA_COMMAND_MODULES: list[str] = [
    "diffs2st.cli.data_sentences",
    "diffs2st.cli.data_import",
    "diffs2st.cli.data_build",
    "diffs2st.cli.data_check",
]


def register(subparsers) -> None:
    parser = add_command(subparsers, "data")
    data_subparsers = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    for module in DATA_COMMAND_MODULES:
        importlib.import_module(module).register(data_subparsers)
