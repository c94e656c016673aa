"""Reads and marks over the photos' status that the search layer needs: the content hashes of
indexed photos (exact duplicates) and photos the user moved to the trash."""

from __future__ import annotations

from collections.abc import Sequence

from photosearch.core.library import photo_sync
from photosearch.core.library.db import Database
from photosearch.core.library.meta import bump_seq
from photosearch.core.library.store import Library


def indexed_hashes(db: Database) -> dict[int, str]:
    """Photo id -> content hash of every indexed photo whose hash is known."""
    return {
        int(r[0]): r[1]
        for r in db.iter(
            "SELECT id, content_hash FROM photos "
            "WHERE status = 'indexed' AND content_hash IS NOT NULL"
        )
    }


def mark_missing(library: Library, photo_ids: Sequence[int]) -> None:
    """Record that these photos' files are gone (moved to the trash by the user)."""
    if not photo_ids:
        return
    library.write(lambda db: photo_sync.mark_missing(db, bump_seq(db), photo_ids))
