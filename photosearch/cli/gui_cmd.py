"""``photosearch gui``: open the desktop app (the default)."""

from __future__ import annotations

import argparse

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "gui", __doc__, run, "db")
    p.add_argument(
        "--sample", action="store_true", help="open a demo library of the bundled sample photos"
    )


def run(args: argparse.Namespace) -> int:
    try:
        from photosearch.gui.app import run_app
    except ImportError as exc:
        raise common.CommandError(f"the desktop app is not available: {exc}") from exc
    return run_app(db=args.db, sample=args.sample)
