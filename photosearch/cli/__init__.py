"""The ``photosearch`` command line: a thin layer over :mod:`photosearch.core`.

Each subcommand lives in its own module with ``register(subparsers)`` and ``run(args) -> int``;
:data:`COMMANDS` lists them. A module's docstring is its --help text, and its ``register`` names
the shared options it takes (:func:`photosearch.cli.common.add_command`). ``photosearch`` alone
opens the GUI.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from photosearch import __version__
from photosearch.cli import (
    audit_cmd,
    classify_cmd,
    duplicates_cmd,
    eval_cmd,
    folders_cmd,
    gui_cmd,
    index_cmd,
    repair_cmd,
    search_cmd,
    similar_cmd,
    status_cmd,
    tags_cmd,
    teach_cmd,
    train_cmd,
    watch_cmd,
    words_cmd,
)
from photosearch.cli.common import run_command
from photosearch.cli.output import use_safe_streams

# In the order --help shows them. Building the parser loads every command module, so each one
# imports the core modules it needs inside its ``run``: a command pays only for its own imports
# (``photosearch search`` never loads torch or the GUI; tests/test_lean_runtime.py).
COMMANDS = [
    gui_cmd,
    index_cmd,
    search_cmd,
    similar_cmd,
    tags_cmd,
    classify_cmd,
    status_cmd,
    watch_cmd,
    duplicates_cmd,
    teach_cmd,
    words_cmd,
    train_cmd,
    eval_cmd,
    audit_cmd,
    folders_cmd,
    repair_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosearch",
        description="Offline photo library with semantic search. Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"photosearch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    use_safe_streams()  # before argparse, whose messages may quote a file name
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    return run_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
