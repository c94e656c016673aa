"""``photosearch repair``: keep a copy of a damaged library database and start a new one.

Copies the database (and its -wal/-shm files) to a new file *.damaged-TIMESTAMP beside it and puts
an empty library with the same folders (when they can still be read) in its place. Run
`photosearch index` afterwards to rebuild. Refused while the library is open in another
photosearch process, and for a library that passes the integrity check unless --force is given.
Photos are never touched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "repair", __doc__, run, "db")
    p.add_argument(
        "--force",
        action="store_true",
        help="start afresh even though the library passes the integrity check",
    )


def run(args: argparse.Namespace) -> int:
    from photosearch.core.library.repair import LibraryHealthyError, repair_library
    from photosearch.core.library.store import default_db_path

    path = Path(args.db) if args.db else default_db_path()
    try:
        result = repair_library(path, force=args.force)
    except LibraryHealthyError as exc:
        raise common.CommandError(str(exc)) from exc
    what = "damaged library" if result.was_damaged else "old library"
    print(f"{what} kept as {result.kept}")
    print(
        f"new library at {path} with {len(result.folders)} folders; "
        "run `photosearch index` to rebuild"
    )
    return 0
