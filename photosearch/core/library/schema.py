"""The library's schema: versioned with ``PRAGMA user_version``, forward-only migrations.

Each migration runs in its own transaction together with the version bump, so a crash leaves the
database at the previous or the next version, never between. A database newer than this code is
refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

from photosearch.core.library.db import Database, DatabaseError


class DatabaseTooNewError(DatabaseError):
    pass


def _v1(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE folders(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at REAL NOT NULL,
            online INTEGER NOT NULL DEFAULT 1,
            use_polling INTEGER NOT NULL DEFAULT 0,
            last_scan REAL
        );
        CREATE TABLE photos(
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,  -- TEXT, or BLOB for names that are not valid UTF-8
            size INTEGER NOT NULL,
            mtime REAL NOT NULL,
            content_hash TEXT,
            width INTEGER,
            height INTEGER,
            taken_at REAL,   -- EXIF capture time (naive local time stored as UTC seconds)
            camera TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'indexed', 'missing', 'offline', 'error')),
            error TEXT,
            model_id TEXT,   -- the encoder whose vectors are stored; NULL = none stored
            added_at REAL NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0  -- bumped on every change, for incremental readers
        );
        CREATE INDEX photos_folder ON photos(folder_id);
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_hash ON photos(content_hash);
        CREATE INDEX photos_size ON photos(size);
        CREATE INDEX photos_seq ON photos(seq);
        CREATE INDEX photos_taken ON photos(taken_at);
        CREATE TABLE photo_classes(
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            class_ids BLOB NOT NULL,  -- top-K ImageNet class indices, uint16
            probs BLOB NOT NULL       -- their probabilities, float16
        );
        """
    )


def _v2(db: Database) -> None:
    """ctime and inode join size and mtime in the change check (a photo rewritten in place with
    its size and mtime restored, as ``exiftool -P`` or a backup restore does, is still seen).
    Existing rows get NULL: "unknown", so the next scan re-checks them once by content hash."""
    # execute(), not executescript(): the stdlib driver's executescript commits first, which
    # would split the migration from its version bump.
    db.execute("ALTER TABLE photos ADD COLUMN ctime REAL")
    db.execute("ALTER TABLE photos ADD COLUMN inode INTEGER")


def _v3(db: Database) -> None:
    """Taught words: a word, its example photos by content hash (so moves and re-indexing keep
    them) and the linear score fitted from them, for one image model (see core/teach)."""
    db.execute(
        """
        CREATE TABLE taught_words(
            id INTEGER PRIMARY KEY,
            word TEXT NOT NULL UNIQUE,  -- normalised: lower case, single spaces
            model_id TEXT NOT NULL,     -- the image model the fit belongs to
            method TEXT NOT NULL,
            weights BLOB NOT NULL,      -- float32 little-endian, one per visual dimension
            bias REAL NOT NULL,
            created_at REAL NOT NULL,
            changed_at REAL NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE taught_examples(
            word_id INTEGER NOT NULL REFERENCES taught_words(id) ON DELETE CASCADE,
            content_hash TEXT NOT NULL,
            positive INTEGER NOT NULL CHECK (positive IN (0, 1)),
            PRIMARY KEY (word_id, content_hash)
        )"""
    )


# Append new migrations here; never edit or reorder a released one.
MIGRATIONS: list[Callable[[Database], None]] = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(db: Database) -> int:
    return int(db.scalar("PRAGMA user_version", default=0))


def migrate(db: Database) -> int:
    """Bring ``db`` to :data:`SCHEMA_VERSION`; returns the version it started at."""
    start = user_version(db)
    if start > SCHEMA_VERSION:
        raise DatabaseTooNewError(
            f"{db.path} was written by a newer photosearch (schema {start}; this version knows "
            f"up to {SCHEMA_VERSION}). Upgrade photosearch, or use another --db."
        )
    for version in range(start, SCHEMA_VERSION):
        with db.transaction():
            # Re-check inside the write lock: another process may have migrated meanwhile.
            if user_version(db) != version:
                continue
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
    return start
