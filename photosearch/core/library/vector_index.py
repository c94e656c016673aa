"""The in-memory search index: the library's vectors as numpy matrices, rebuilt from SQLite.

SQLite stays the source of truth; this is a cache for the hot path. sqlite-vec 0.1.x scans by
brute force without SIMD, several times slower than a numpy matrix product, so queries run here.
:meth:`VectorIndex.refresh` applies only the rows changed since the last refresh (the ``seq``
counter), which keeps the index consistent with an indexer writing concurrently: every refresh
reads inside one read transaction, so it sees one committed state of the database.

Reading a large library out of SQLite takes a while (about 10 s per million photos), so the
matrices are also kept in one memory-mapped file in the cache folder (:mod:`.matrix_cache`).
At start-up that file is mapped (no copy, pages load on demand) and only the rows changed since
it was written are read from SQLite. The file is trusted only when its random token matches the
one written into the database's ``meta`` table when the file was saved (so a database that was
replaced, recreated or restored from a backup does not match), for the same visual model and word
space, and at a ``seq`` not newer than the database's; anything else rebuilds it from SQLite.

In memory the visual vectors are int8 with one float32 scale per row: 868 B per photo instead of
1,632 B. Image→image P@10 on the dev photos is unchanged (``benchmarks/vector_storage.py``,
docs/benchmarks.md). The scan stays exact over the vectors held (:mod:`.quantized`). The
class probabilities stay float32 although SQLite stores float16: the text scorer's dense path
(``einsum`` over all photos' top classes) runs twice as slow on float16 (numpy casts it slowly).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from photosearch.core.library.db import Database
from photosearch.core.library.matrix_cache import CACHE_TOKEN_KEY, MatrixCache
from photosearch.core.library.meta import DELETED_SEQ_KEY
from photosearch.core.library.snapshot import FIELDS, Layout, Snapshot, allocate, fill, grow, merge
from photosearch.core.library.store import Library, default_cache_dir
from photosearch.core.library.vectors import SEMANTIC_TABLE, VISUAL_TABLE, table_exists

log = logging.getLogger(__name__)

LOOKUP_ROWS_MAX = 4096  # changed rows loaded one by one, at least; more than a quarter: reload
APPEND_SLACK = 4096  # spare rows at least, so small libraries do not regrow on every batch


class VectorIndex:
    """``VectorIndex(library)`` keeps its matrix cache in the user cache folder;
    ``cache_dir=False`` turns the cache off, a path puts it elsewhere."""

    def __init__(self, library: Library, cache_dir: str | os.PathLike[str] | bool = True) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._seq = -1
        self._snapshot = allocate(0, 0, None)
        self._layout: Layout | None = None
        self.cache: MatrixCache | None = None
        if cache_dir is not False:
            folder = default_cache_dir() if cache_dir is True else Path(cache_dir)
            self.cache = MatrixCache(folder / "vector-index", library.path)
        self._unsaved = 0  # rows changed since the cache file was last written
        self.loaded_from_cache = False  # whether the last full load came from the cache file
        # Arrays with spare rows at the end, of which the current snapshot is a prefix view (or
        # None): photos added while indexing are appended without copying the whole matrix.
        self._spare: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        self.refresh()
        return self._snapshot

    @property
    def seq(self) -> int:
        """The database ``seq`` the current snapshot reflects (-1 before the first refresh)."""
        return self._seq

    def refresh(self) -> bool:
        """Apply changes since the last refresh; returns whether anything changed."""
        with self._lock:
            db = self.library.reader()
            with _read_transaction(db):
                seq = self.library.seq()
                if seq == self._seq:
                    return False
                if not table_exists(db, VISUAL_TABLE):
                    self._seq = seq
                    return False
                layout = self._current_layout()
                if self._seq < 0 and self._layout is None:
                    self._open_cache(layout, seq)
                if self._seq < 0 or layout != self._layout:
                    self._rebuild(seq, layout)
                else:
                    self._apply_changes(seq)
            self._maybe_save()
            return True

    def flush(self) -> None:
        """Wait for a cache file being written in the background (tests, benchmarks, exit)."""
        if self.cache is not None:
            self.cache.wait()

    # --- loading from SQLite -------------------------------------------------------------------
    def _current_layout(self) -> Layout:
        db = self.library.reader()
        dv = int(self.library.meta("visual_model_dim", "0") or 0)
        ds_text = self.library.meta("semantic_space_dim")
        has_semantic = table_exists(db, SEMANTIC_TABLE)
        return Layout(
            self.library.meta("visual_model"),
            dv,
            self.library.meta("semantic_space") if has_semantic else None,
            int(ds_text) if ds_text and has_semantic else None,
        )

    def _select(self, layout: Layout, where: str) -> str:
        """The query giving each indexed photo's snapshot row, over ``photos p``."""
        ds = layout.semantic_dim
        semantic_join = (
            f"LEFT JOIN {SEMANTIC_TABLE} s ON s.photo_id = p.id" if ds is not None else ""
        )
        semantic_col = "s.embedding" if ds is not None else "NULL"
        return (
            f"SELECT p.id, v.embedding, {semantic_col}, c.class_ids, c.probs, "
            f"COALESCE(p.taken_at, p.mtime), p.camera "
            f"FROM photos p JOIN {VISUAL_TABLE} v ON v.photo_id = p.id "
            f"JOIN photo_classes c ON c.photo_id = p.id {semantic_join} "
            f"WHERE p.status = 'indexed' AND {where}"
        )

    def _load(self, where: str, params: tuple[object, ...], layout: Layout) -> Snapshot:
        """Load indexed photos matching ``where`` (over the ``photos p`` table)."""
        db = self.library.reader()
        cap = int(
            db.scalar(
                f"SELECT COUNT(*) FROM photos p WHERE p.status = 'indexed' AND {where}",
                params,
                default=0,
            )
        )
        rows = db.iter(self._select(layout, where) + " ORDER BY p.id", params)
        return fill(rows, cap, layout)

    def _load_ids(self, ids: list[int], layout: Layout) -> Snapshot:
        """Load the given photos (those still indexed) with one primary-key lookup each: a
        query over a range of them lets SQLite scan the vec0 tables whole (~30 ms at 100k)."""
        db = self.library.reader()
        sql = self._select(layout, "p.id = ?")
        rows = (row for i in sorted(ids) for row in db.iter(sql, (i,)))
        return fill(rows, len(ids), layout)

    def _rebuild(self, seq: int, layout: Layout) -> None:
        snap = self._load("1", (), layout)
        self._install(snap)
        self._seq = seq
        self._layout = layout
        self._unsaved = max(len(snap), 1)  # a fresh build is always worth saving
        self.loaded_from_cache = False

    def _install(self, snap: Snapshot, spare: Snapshot | None = None) -> None:
        """Make ``snap`` current; ``spare``: the arrays it is a prefix view of, if any."""
        self._snapshot = snap
        self._spare = spare

    def _apply_changes(self, seq: int) -> None:
        assert self._layout is not None
        db = self.library.reader()
        since = self._seq
        rows = db.query(
            "SELECT id, status FROM photos INDEXED BY photos_seq WHERE seq > ?", (since,)
        )
        changed = np.array([r[0] for r in rows], np.int64)
        fresh_ids = [r[0] for r in rows if r[1] == "indexed"]
        old = self._snapshot
        if len(fresh_ids) > max(LOOKUP_ROWS_MAX, len(old) // 4):
            # Primary-key lookups cost ~0.1 ms a row, a full load ~16 us a row (1M library):
            # past a quarter of the library, loading it all again is cheaper.
            self._rebuild(seq, self._layout)
            return
        fresh = self._load_ids(fresh_ids, self._layout)
        # Photos new to the index have ids above all of its rows: nothing of it to drop.
        new_only = len(changed) == 0 or len(old) == 0 or changed.min() > old.ids.max()
        keep = np.ones(len(old), bool) if new_only else ~np.isin(old.ids, changed)
        if not keep.all():
            self._install(merge(old, keep, fresh))
            self._unsaved += len(changed)
        elif len(fresh):
            self._append(old, fresh)
            self._unsaved += len(changed)
        self._seq = seq
        if int(self.library.meta(DELETED_SEQ_KEY, "0") or 0) > since:
            self._drop_deleted(seq)

    def _drop_deleted(self, seq: int) -> None:
        """Rows deleted outright (a folder removed) leave no trace in ``seq``: drop the rows of
        photos that are gone; if the counts still differ, rebuild."""
        assert self._layout is not None
        db = self.library.reader()
        indexed = int(db.scalar("SELECT COUNT(*) FROM photos WHERE status = 'indexed'", default=0))
        if indexed != len(self._snapshot):
            present = np.fromiter(
                (r[0] for r in db.iter("SELECT id FROM photos WHERE status = 'indexed'")),
                np.int64,
            )
            snap = self._snapshot
            keep = np.isin(snap.ids, present)
            if not keep.all():
                self._install(merge(snap, keep, None))
                self._unsaved += int((~keep).sum())
            if indexed != len(self._snapshot):
                self._rebuild(seq, self._layout)

    def _append(self, old: Snapshot, fresh: Snapshot) -> None:
        """Install ``old`` then ``fresh``, written into spare rows after ``old`` when it has them.

        Snapshots handed out earlier stay valid and unchanged: they are views of rows that are
        never written again (only rows past their end are), and a full copy makes new arrays.
        Capacity grows by a quarter at a time, so a run that adds photos one batch at a time
        copies the matrices O(log n) times instead of once per batch (about 1.2 GB at 1M).
        """
        if (old.semantic is None) != (fresh.semantic is None):
            self._install(merge(old, slice(None), fresh))
            return
        n, m = len(old), len(fresh)
        spare = self._spare  # when set, ``old`` is its first n rows
        if spare is None or n + m > len(spare):
            spare = grow(old, max(n + m + APPEND_SLACK, (n + m) * 5 // 4))
        for name in FIELDS:
            target, values = getattr(spare, name), getattr(fresh, name)
            if target is not None and values is not None:
                target[n : n + m] = values
        self._install(merge(spare, slice(0, n + m), None), spare)  # slices: views, no copy

    # --- the matrix cache ------------------------------------------------------------------
    def _open_cache(self, layout: Layout, seq: int) -> None:
        if self.cache is None:
            return
        loaded = self.cache.load(layout, seq, self.library.meta(CACHE_TOKEN_KEY))
        if loaded is None:
            return
        snap, cached_seq = loaded
        self._install(snap)
        self._seq = cached_seq
        self._layout = layout
        self._unsaved = 0
        self.loaded_from_cache = True

    def _maybe_save(self) -> None:
        """Write the cache file after a rebuild, or once enough rows changed since the last
        write (so an indexing run rewrites it now and then, not on every batch)."""
        if self.cache is None or self._layout is None or self._unsaved == 0:
            return
        n = len(self._snapshot)
        if self._unsaved < max(1000, n // 20) and self._unsaved < n:
            return
        if self.cache.save_async(self.library, self._snapshot, self._seq, self._layout):
            self._unsaved = 0


@contextmanager
def _read_transaction(db: Database) -> Iterator[None]:
    """Everything read inside sees one committed state of the database (WAL snapshot)."""
    try:
        db.execute("BEGIN")
    except Exception:  # already inside a transaction on this connection: read in it
        yield
        return
    try:
        yield
    finally:
        try:
            db.execute("COMMIT")
        except Exception:  # pragma: no cover - a read-only transaction cannot fail to end
            log.debug("ending the read transaction failed", exc_info=True)
