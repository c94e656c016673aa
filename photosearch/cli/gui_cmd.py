"""``photosearch gui``: open the desktop app."""

from __future__ import annotations

import argparse

from photosearch.cli.common import CommandError, db_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default)", parents=[db_options()])
    p.add_argument(
        "--sample", action="store_true", help="open a demo library of the bundled sample photos"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from photosearch.gui.app import run_app
    except ImportError as exc:
        raise CommandError(f"the desktop app is not available: {exc}") from exc
    return run_app(db=args.db, sample=args.sample)
