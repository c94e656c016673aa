"""``photosearch repair``: set a damaged library aside and start afresh (photos untouched)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from photosearch.cli.common import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "repair",
        help="move a damaged library database aside and create a new one",
        description="Renames the database (and its -wal/-shm files) to *.damaged-TIMESTAMP and "
        "creates an empty library with the same folders when they can still be read. Run "
        "`photosearch index` afterwards to rebuild. Photos are never touched.",
    )
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photosearch.core.repair import set_aside_and_rebuild
    from photosearch.core.store import default_db_path

    path = Path(args.db) if args.db else default_db_path()
    kept, folders = set_aside_and_rebuild(path, time.strftime("%Y%m%d-%H%M%S"))
    print(f"damaged library kept as {kept}")
    print(f"new library at {path} with {len(folders)} folders; run `photosearch index` to rebuild")
    return 0
