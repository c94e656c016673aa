"""Recovering from a damaged library file: keep it aside, start a new one, re-add its folders."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from photosearch.core.db import Database


def readable_folders(path: Path) -> list[str]:
    """Folder paths that can still be read from a damaged database (possibly none)."""
    with contextlib.suppress(Exception):
        db = Database(path, readonly=True)
        try:
            return [
                os.fsdecode(r[0]) if isinstance(r[0], bytes) else r[0]
                for r in db.query("SELECT path FROM folders")
            ]
        finally:
            db.close()
    return []


def set_aside_and_rebuild(path: Path, stamp: str) -> tuple[Path, list[str]]:
    from photosearch.core.store import Library

    folders = readable_folders(path) if path.exists() else []
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    if path.exists():
        os.replace(path, kept)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(kept) + suffix))
    with Library(path) as library:
        for folder in folders:
            library.add_folder(folder)
    return kept, folders
