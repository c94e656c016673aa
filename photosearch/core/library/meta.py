"""The ``meta`` table (key → text) and the change counter ``seq`` kept in it.

Every write that changes photo rows stamps them with a new ``seq`` (:func:`bump_seq`), so readers
(the vector index, the GUI) find what changed since they last looked. The helpers that write run
on the writer thread, inside a transaction.
"""

from __future__ import annotations

from photosearch.core.library.db import Database

DELETED_SEQ_KEY = "deleted_seq"


def read_meta(db: Database, key: str, default: str | None = None) -> str | None:
    value = db.scalar("SELECT value FROM meta WHERE key = ?", (key,), default)
    return None if value is None else str(value)


def set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def current_seq(db: Database) -> int:
    return int(read_meta(db, "seq", "0") or 0)


def bump_seq(db: Database) -> int:
    """Advance the change counter; rows changed in this transaction get the new value."""
    seq = current_seq(db) + 1
    set_meta(db, "seq", str(seq))
    return seq


def note_deleted_photos(db: Database, seq: int | None = None) -> int:
    """Record that photo rows were deleted outright: unlike changed rows they leave no row with
    a new ``seq``, so readers that follow ``seq`` (the vector index) check this key instead of
    counting the whole library after every change. ``seq``: this transaction's, if bumped."""
    seq = bump_seq(db) if seq is None else seq
    set_meta(db, DELETED_SEQ_KEY, str(seq))
    return seq
