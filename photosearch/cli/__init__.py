"""The ``photosearch`` command line: a thin layer over :mod:`photosearch.core`.

Each subcommand lives in its own module with ``register(subparsers)`` and ``run(args) -> int``;
:data:`COMMANDS` lists them. ``photosearch`` alone opens the GUI.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from photosearch import __version__

# Module names under photosearch.cli, in the order --help shows them.
COMMANDS = [
    "gui",
    "index",
    "search",
    "similar",
    "tags",
    "classify",
    "status",
    "watch",
    "duplicates",
    "teach",
    "words",
    "train",
    "eval",
    "audit",
    "folders",
    "repair",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosearch",
        description="Offline photo library with semantic search. Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"photosearch {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"photosearch.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"photosearch.cli.{name}_cmd":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from photosearch.cli.output import use_safe_streams

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
    from photosearch.cli.common import run_command

    return run_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
