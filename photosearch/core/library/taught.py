"""The SQL of taught words: one row type per table, writes as functions for the writer thread.

``taught_words`` holds a word and its fitted score; ``taught_examples`` its example photos by
content hash, so a photo moved, renamed or re-indexed keeps teaching the word.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosearch.core.library.db import Database, chunked_in
from photosearch.core.library.store import Library

WORD_COLUMNS = "id, word, model_id, method, weights, bias, created_at, changed_at"


@dataclass(frozen=True)
class TaughtWordRow:
    id: int
    word: str
    model_id: str
    method: str
    weights: np.ndarray  # (D,) float32
    bias: float
    created_at: float
    changed_at: float


@dataclass(frozen=True)
class TaughtExampleRow:
    word_id: int
    content_hash: str
    positive: bool


def _word_from_row(row: tuple[Any, ...]) -> TaughtWordRow:
    weights = np.frombuffer(row[4], dtype="<f4").astype(np.float32)
    return TaughtWordRow(
        int(row[0]), str(row[1]), str(row[2]), str(row[3]), weights, *map(float, row[5:8])
    )


# --- reads (any thread, through library.reader()) ---------------------------------------------
def read_words(library: Library) -> list[TaughtWordRow]:
    rows = library.reader().query(f"SELECT {WORD_COLUMNS} FROM taught_words ORDER BY word")
    return [_word_from_row(r) for r in rows]


def read_word(library: Library, word: str) -> TaughtWordRow | None:
    row = library.reader().query_one(
        f"SELECT {WORD_COLUMNS} FROM taught_words WHERE word = ?", (word,)
    )
    return _word_from_row(row) if row else None


def read_examples(library: Library, word_id: int | None = None) -> list[TaughtExampleRow]:
    sql = "SELECT word_id, content_hash, positive FROM taught_examples"
    params: tuple[object, ...] = ()
    if word_id is not None:
        sql += " WHERE word_id = ?"
        params = (word_id,)
    rows = library.reader().query(sql + " ORDER BY word_id, content_hash", params)
    return [TaughtExampleRow(int(r[0]), str(r[1]), bool(r[2])) for r in rows]


def example_counts(library: Library) -> dict[int, tuple[int, int]]:
    """word id -> (positive examples, negative examples)."""
    counts: dict[int, list[int]] = {}
    for word_id, positive, n in library.reader().iter(
        "SELECT word_id, positive, COUNT(*) FROM taught_examples GROUP BY word_id, positive"
    ):
        counts.setdefault(int(word_id), [0, 0])[0 if positive else 1] = int(n)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def indexed_photo_ids_by_hash(library: Library, hashes: Sequence[str]) -> dict[str, int]:
    """One indexed photo per content hash (the lowest id when a photo has copies)."""
    # "+status": look photos up by the hash index, not by the status one (which would scan every
    # indexed photo)
    sql = (
        "SELECT content_hash, MIN(id) FROM photos WHERE content_hash IN ({marks}) "
        "AND +status = 'indexed' GROUP BY content_hash"
    )
    rows = chunked_in(library.reader(), sql, dict.fromkeys(hashes))
    return {str(content_hash): int(photo_id) for content_hash, photo_id in rows}


# --- writes (on the writer thread, inside a transaction: library.write(fn)) -------------------
def save_word(
    db: Database,
    word: str,
    model_id: str,
    method: str,
    weights: np.ndarray,
    bias: float,
    examples: Sequence[tuple[str, bool]],
    created_at: float | None = None,
) -> None:
    """Insert or replace ``word`` with its fit and its full list of (content hash, positive)."""
    now = time.time()
    blob = np.ascontiguousarray(weights, dtype="<f4").tobytes()
    db.execute(
        "INSERT INTO taught_words(word, model_id, method, weights, bias, created_at, changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(word) DO UPDATE SET model_id = excluded.model_id, "
        "method = excluded.method, weights = excluded.weights, bias = excluded.bias, "
        "changed_at = excluded.changed_at",
        (word, model_id, method, blob, float(bias), created_at or now, now),
    )
    word_id = int(db.scalar("SELECT id FROM taught_words WHERE word = ?", (word,)))
    db.execute("DELETE FROM taught_examples WHERE word_id = ?", (word_id,))
    db.executemany(
        "INSERT INTO taught_examples(word_id, content_hash, positive) VALUES (?, ?, ?)",
        [(word_id, h, int(p)) for h, p in dict(examples).items()],
    )


def rename_word(db: Database, old: str, new: str) -> None:
    db.execute(
        "UPDATE taught_words SET word = ?, changed_at = ? WHERE word = ?", (new, time.time(), old)
    )


def delete_word(db: Database, word: str) -> None:
    word_id = db.scalar("SELECT id FROM taught_words WHERE word = ?", (word,))
    if word_id is not None:
        db.execute("DELETE FROM taught_examples WHERE word_id = ?", (word_id,))
        db.execute("DELETE FROM taught_words WHERE id = ?", (word_id,))
