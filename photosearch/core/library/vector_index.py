"""The in-memory search index: the library's vectors as numpy matrices, rebuilt from SQLite.

SQLite stays the source of truth; this is a cache for the hot path. sqlite-vec 0.1.x scans by
brute force without SIMD, several times slower than a numpy matrix product, so queries run here.
:meth:`VectorIndex.refresh` applies only the rows changed since the last refresh (the ``seq``
counter), which keeps the index consistent with an indexer writing concurrently: every refresh
reads inside one read transaction, so it sees one committed state of the database.

Reading a large library out of SQLite takes a while (about 10 s per million photos), so the
matrices are also kept in one memory-mapped file in the cache folder (see :class:`MatrixCache`).
At start-up that file is mapped (no copy, pages load on demand) and only the rows changed since
it was written are read from SQLite. The file is trusted only when its random token matches the
one written into the database's ``meta`` table when the file was saved (so a database that was
replaced, recreated or restored from a backup does not match), for the same visual model and word
space, and at a ``seq`` not newer than the database's; anything else rebuilds it from SQLite.

In memory the visual vectors are int8 with one float32 scale per row: 868 B per photo instead of
1,632 B. Image→image P@10 on the dev photos is unchanged (``benchmarks/vector_storage.py``,
docs/benchmarks.md). The scan stays exact over the vectors held: see :class:`QuantizedRows`. The
class probabilities stay float32 although SQLite stores float16: the text scorer's dense path
(``einsum`` over all photos' top classes) runs twice as slow on float16 (numpy casts it slowly).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.library.db import Database
from photosearch.core.library.store import (
    DELETED_SEQ_KEY,
    SEMANTIC_TABLE,
    TOP_K_CLASSES,
    VISUAL_TABLE,
    Library,
    decode_classes,
    default_cache_dir,
    set_meta,
    table_exists,
)
from photosearch.core.library.writer import WriterClosedError

log = logging.getLogger(__name__)

CHUNK = 5000


SCAN_ROWS = 1024  # rows widened to float32 at a time by a scan: 1 MiB at 256-d, stays in cache


class QuantizedRows:
    """A read-only view of int8 rows with one scale each that reads like a float32 matrix.

    Row i stands for ``codes[i] * scale[i]`` (symmetric quantisation: the scale is the row's
    largest magnitude / 127). ``rows @ vector`` is the exact product with those rows, computed
    a block at a time so no float32 copy of the matrix is ever made; ``rows[i]``, ``rows[a:b]``
    and ``np.asarray(rows)`` give float32 rows.
    """

    def __init__(self, codes: np.ndarray, scale: np.ndarray) -> None:
        self.codes = codes  # (n, d) int8
        self.scale = scale  # (n,) float32

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.codes.shape[0]), int(self.codes.shape[1]))

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        """(n,) float32 products of every row with ``vector`` (d,)."""
        vector = np.asarray(vector, np.float32)
        if vector.ndim != 1:
            return np.asarray(self) @ vector
        n, d = self.shape
        out = np.empty(n, np.float32)
        block = np.empty((min(n, SCAN_ROWS), d), np.float32)
        for start in range(0, n, SCAN_ROWS):
            codes = self.codes[start : start + SCAN_ROWS]
            rows = block[: len(codes)]
            np.copyto(rows, codes, casting="unsafe")  # int8 -> float32 is exact
            np.matmul(rows, vector, out=out[start : start + len(codes)])
        out *= self.scale
        return out

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = self.codes[index].astype(np.float32)
        scale = np.asarray(self.scale[index], np.float32)
        return rows * (scale[..., None] if rows.ndim == 2 else scale)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype)


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes int8, scale float32) of float rows: ``codes * scale`` is within ``scale / 2`` of
    each value. A row that is zero (or not finite, a corrupt value) becomes zero."""
    x = np.nan_to_num(np.asarray(x, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    scale = (np.abs(x).max(axis=1, initial=0.0) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1.0))
    codes = np.clip(np.rint(x / safe[:, None]), -127, 127).astype(np.int8)
    return codes, scale


@dataclass
class Snapshot:
    """Immutable arrays for one query; rows are aligned across all of them.

    The arrays may be read-only memory maps: never modify them in place."""

    ids: np.ndarray  # (n,) int64 photo ids
    visual_codes: np.ndarray  # (n, Dv) int8: the visual vectors, quantised (see ``visual``)
    visual_scale: np.ndarray  # (n,) float32: their scales
    semantic: np.ndarray | None  # (n, Ds) float32, or None without a word space
    top_ids: np.ndarray  # (n, K) int64
    top_probs: np.ndarray  # (n, K) float32
    dates: np.ndarray  # (n,) float64: capture time, else mtime
    cameras: np.ndarray  # (n,) object: camera name or None

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def visual(self) -> QuantizedRows:
        """The visual vectors: ``snap.visual @ query`` scans them all, exactly."""
        return QuantizedRows(self.visual_codes, self.visual_scale)

    def nbytes(self) -> int:
        """Bytes of RAM the rows take (a camera name is shared: one pointer a row)."""
        arrays = [getattr(self, name) for name in _FIELDS]
        return sum(a.nbytes for a in arrays if a is not None)


@dataclass(frozen=True)
class _Layout:
    """What the stored vectors are: a cache made for another layout is useless."""

    visual_model: str | None
    visual_dim: int
    semantic_space: str | None
    semantic_dim: int | None


class VectorIndex:
    """``VectorIndex(library)`` keeps its matrix cache in the user cache folder;
    ``cache_dir=False`` turns the cache off, a path puts it elsewhere."""

    def __init__(self, library: Library, cache_dir: str | os.PathLike[str] | bool = True) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._seq = -1
        self._snapshot = self._empty(0, None)
        self._layout: _Layout | None = None
        self.cache: MatrixCache | None = None
        if cache_dir is not False:
            folder = default_cache_dir() if cache_dir is True else Path(cache_dir)
            self.cache = MatrixCache(folder / "vector-index", library.path)
        self._unsaved = 0  # rows changed since the cache file was last written
        self.loaded_from_cache = False  # whether the last full load came from the cache file
        # Arrays with spare rows at the end, of which the current snapshot is a prefix view (or
        # None): photos added while indexing are appended without copying the whole matrix.
        self._spare: Snapshot | None = None

    @staticmethod
    def _empty(dv: int, ds: int | None) -> Snapshot:
        return Snapshot(
            np.zeros(0, np.int64),
            np.zeros((0, dv), np.int8),
            np.zeros(0, np.float32),
            None if ds is None else np.zeros((0, ds), np.float32),
            np.zeros((0, TOP_K_CLASSES), np.int64),
            np.zeros((0, TOP_K_CLASSES), np.float32),
            np.zeros(0, np.float64),
            np.zeros(0, object),
        )

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
    def _current_layout(self) -> _Layout:
        db = self.library.reader()
        dv = int(self.library.meta("visual_model_dim", "0") or 0)
        ds_text = self.library.meta("semantic_space_dim")
        has_semantic = table_exists(db, SEMANTIC_TABLE)
        return _Layout(
            self.library.meta("visual_model"),
            dv,
            self.library.meta("semantic_space") if has_semantic else None,
            int(ds_text) if ds_text and has_semantic else None,
        )

    def _select(self, layout: _Layout, where: str) -> str:
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

    def _load(self, where: str, params: tuple[object, ...], layout: _Layout) -> Snapshot:
        """Load indexed photos matching ``where`` (over the ``photos p`` table)."""
        db = self.library.reader()
        # Filled in chunks into arrays sized by a count made in the same read transaction, so
        # that loading a million photos needs little more memory than the result.
        cap = int(
            db.scalar(
                f"SELECT COUNT(*) FROM photos p WHERE p.status = 'indexed' AND {where}",
                params,
                default=0,
            )
        )
        rows = db.iter(self._select(layout, where) + " ORDER BY p.id", params)
        return self._fill(rows, cap, layout)

    def _load_ids(self, ids: list[int], layout: _Layout) -> Snapshot:
        """Load the given photos (those still indexed) with one primary-key lookup each: a
        query over a range of them lets SQLite scan the vec0 tables whole (~30 ms at 100k)."""
        db = self.library.reader()
        sql = self._select(layout, "p.id = ?")
        rows = (row for i in sorted(ids) for row in db.iter(sql, (i,)))
        return self._fill(rows, len(ids), layout)

    def _fill(self, rows: Iterator[Any], cap: int, layout: _Layout) -> Snapshot:
        dv, ds = layout.visual_dim, layout.semantic_dim
        if cap == 0:
            return self._empty(dv, ds)
        k = TOP_K_CLASSES
        out = Snapshot(
            np.empty(cap, np.int64),
            np.empty((cap, dv), np.int8),
            np.empty(cap, np.float32),
            None if ds is None else np.empty((cap, ds), np.float32),
            np.empty((cap, k), np.int64),
            np.empty((cap, k), np.float32),
            np.empty(cap, np.float64),
            np.empty(cap, object),
        )
        zero_sem = bytes(4 * (ds or 0))
        n = 0
        while True:
            chunk = list(itertools.islice(rows, CHUNK))
            if not chunk:
                break
            m = len(chunk)
            if n + m > cap:  # cannot happen inside one read transaction; stay correct anyway
                cap = 2 * (n + m)
                out = _grow(out, cap)
            part = slice(n, n + m)
            out.ids[part] = [r[0] for r in chunk]
            visual = _rows_of([r[1] for r in chunk], m, dv, np.float32)
            out.visual_codes[part], out.visual_scale[part] = quantize_rows(visual)
            if out.semantic is not None and ds is not None:
                out.semantic[part] = _rows_of([r[2] or zero_sem for r in chunk], m, ds, np.float32)
            out.top_ids[part], out.top_probs[part] = _classes(
                [r[3] for r in chunk], [r[4] for r in chunk], m
            )
            out.dates[part] = [r[5] for r in chunk]
            out.cameras[part] = [r[6] for r in chunk]
            n += m
        if n == 0:
            return self._empty(dv, ds)
        return _merge(out, slice(0, n), None) if n < cap else out

    def _rebuild(self, seq: int, layout: _Layout) -> None:
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
            self._install(_merge(old, keep, fresh))
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
                self._install(_merge(snap, keep, None))
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
            self._install(_merge(old, slice(None), fresh))
            return
        n, m = len(old), len(fresh)
        spare = self._spare  # when set, ``old`` is its first n rows
        if spare is None or n + m > len(spare):
            spare = _grow(old, max(n + m + APPEND_SLACK, (n + m) * 5 // 4))
        for name in _FIELDS:
            target, values = getattr(spare, name), getattr(fresh, name)
            if target is not None and values is not None:
                target[n : n + m] = values
        self._install(_merge(spare, slice(0, n + m), None), spare)  # slices: views, no copy

    # --- the matrix cache ------------------------------------------------------------------
    def _open_cache(self, layout: _Layout, seq: int) -> None:
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


def _rows_of(blobs: list[bytes], n: int, dim: int, dtype: type[np.float32]) -> np.ndarray:
    """n equally long little-endian blobs -> (n, dim) array, in one copy."""
    itemsize = np.dtype(dtype).itemsize
    joined = b"".join(blobs)
    if len(joined) == n * dim * itemsize:
        return np.frombuffer(joined, dtype=dtype).reshape(n, dim)  # read-only, like a map
    # A row of another length (a corrupt value): pad or cut each row to ``dim``.
    out: np.ndarray = np.zeros((n, dim), dtype)
    for i, blob in enumerate(blobs):
        row: np.ndarray = np.frombuffer(blob[: len(blob) - len(blob) % itemsize], dtype=dtype)[:dim]
        out[i, : len(row)] = row
    return out


def _classes(ids: list[bytes], probs: list[bytes], n: int) -> tuple[np.ndarray, np.ndarray]:
    joined_ids, joined_probs = b"".join(ids), b"".join(probs)
    k = TOP_K_CLASSES
    if len(joined_ids) == n * k * 2 and len(joined_probs) == n * k * 2:
        top_ids, top_probs = decode_classes(joined_ids, joined_probs)
        return top_ids.reshape(n, k), top_probs.reshape(n, k)
    top_ids = np.zeros((n, k), np.int64)
    top_probs = np.zeros((n, k), np.float32)
    for i, (cid, cp) in enumerate(zip(ids, probs)):
        a, b = decode_classes(cid, cp)
        m = min(k, len(a), len(b))
        top_ids[i, :m], top_probs[i, :m] = a[:m], b[:m]
    return top_ids, top_probs


LOOKUP_ROWS_MAX = 4096  # changed rows loaded one by one, at least; more than a quarter: reload
APPEND_SLACK = 4096  # spare rows at least, so small libraries do not regrow on every batch
_FIELDS = (
    "ids",
    "visual_codes",
    "visual_scale",
    "semantic",
    "top_ids",
    "top_probs",
    "dates",
    "cameras",
)


def _grow(snap: Snapshot, cap: int) -> Snapshot:
    def grown(a: np.ndarray) -> np.ndarray:
        out = np.empty((cap, *a.shape[1:]), a.dtype)
        out[: len(a)] = a
        return out

    return _snapshot({name: _maybe(grown, getattr(snap, name)) for name in _FIELDS})


def _merge(old: Snapshot, keep: np.ndarray | slice, fresh: Snapshot | None) -> Snapshot:
    """``old``'s rows where ``keep``, then ``fresh``'s rows."""

    def merged(name: str) -> np.ndarray | None:
        a = getattr(old, name)
        b = None if fresh is None else getattr(fresh, name)
        if a is None or (fresh is not None and b is None):
            return None  # the semantic vectors, when one side has none
        return a[keep] if fresh is None else np.concatenate([a[keep], b])

    return _snapshot({name: merged(name) for name in _FIELDS})


def _maybe(fn: Callable[[np.ndarray], np.ndarray], a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else fn(a)


def _snapshot(arrays: dict[str, Any]) -> Snapshot:
    return Snapshot(**arrays)


# --- the memory-mapped matrix file -----------------------------------------------------------
CACHE_TOKEN_KEY = "vector_cache_token"
MAGIC = b"PSVECIDX"
FORMAT_VERSION = 2  # 2: int8 visual codes + scales
_ALIGN = 64


class MatrixCache:
    """One file per library: a JSON header, then the snapshot's arrays, 64-byte aligned.

    Written to a temporary file and renamed over the old one, so a reader (this process or
    another) maps either the old or the new file, never a half-written one.
    """

    def __init__(self, folder: Path, db_path: Path) -> None:
        self.db_path = Path(db_path)
        try:
            resolved = str(self.db_path.resolve())
        except OSError:
            resolved = str(self.db_path.absolute())
        self.db_key = resolved
        digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.path = folder / f"{digest}.vecidx"
        self._thread: threading.Thread | None = None
        self.saves = 0  # files written by this object (tests)

    # --- reading -------------------------------------------------------------------------
    def load(self, layout: _Layout, db_seq: int, token: str | None) -> tuple[Snapshot, int] | None:
        """The cached snapshot and its ``seq``, or None when absent, stale or for another
        database, model or word space. ``token`` is the database's ``vector_cache_token``."""
        if not token:
            return None
        try:
            with open(self.path, "rb") as f:
                head = f.read(16)
                if len(head) != 16 or head[:8] != MAGIC:
                    return None
                size = int.from_bytes(head[8:], "little")
                header = json.loads(f.read(size).decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        expected = {
            "version": FORMAT_VERSION,
            "db": self.db_key,
            "token": token,
            "visual_model": layout.visual_model,
            "visual_dim": layout.visual_dim,
            "semantic_space": layout.semantic_space,
            "semantic_dim": layout.semantic_dim,
        }
        if any(header.get(key) != value for key, value in expected.items()):
            return None
        seq = header.get("seq")
        if not isinstance(seq, int) or seq > db_seq:
            return None  # written from another (newer, since restored) state of the database
        try:
            arrays = {
                name: _map(self.path, offset, dtype, shape)
                for name, (offset, dtype, shape) in header["arrays"].items()
            }
            names = np.asarray([None, *header["cameras"]], object)
            cameras = names[np.asarray(arrays["cameras"], np.intp)]
            snap = Snapshot(
                arrays["ids"],
                arrays["visual_codes"],
                arrays["visual_scale"],
                arrays.get("semantic"),
                arrays["top_ids"],
                arrays["top_probs"],
                arrays["dates"],
                cameras,
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("ignoring the unreadable vector cache %s: %s", self.path, exc)
            return None
        n = len(snap)
        if (
            snap.visual_codes.shape != (n, layout.visual_dim)
            or snap.visual_codes.dtype != np.int8
            or snap.visual_scale.shape != (n,)
            or len(cameras) != n
        ):
            return None
        return snap, seq

    # --- writing -------------------------------------------------------------------------
    def save_async(self, library: Library, snap: Snapshot, seq: int, layout: _Layout) -> bool:
        """Write ``snap`` in a background thread; False if a write is already running."""
        if self._thread is not None and self._thread.is_alive():
            return False
        self._thread = threading.Thread(
            target=self._save_logged,
            args=(library, snap, seq, layout),
            name="photosearch-vector-cache",
            daemon=True,
        )
        self._thread.start()
        return True

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()

    def _save_logged(self, library: Library, snap: Snapshot, seq: int, layout: _Layout) -> None:
        try:
            self.save(library, snap, seq, layout)
        except WriterClosedError:  # the program ended first: the next start writes it
            log.debug("vector cache %s not written: the library was closed", self.path)
        except Exception as exc:  # a full disk or a read-only cache must not break search
            log.warning("could not write the vector cache %s: %s", self.path, exc)

    def save(self, library: Library, snap: Snapshot, seq: int, layout: _Layout) -> None:
        """Write the file for ``snap`` (the state of ``library`` at ``seq``)."""
        # A new token in the database first: should the file then fail to be written, the old
        # file no longer matches and is ignored.
        token = uuid.uuid4().hex
        library.write(lambda db: set_meta(db, CACHE_TOKEN_KEY, token))
        names: dict[str, int] = {}
        codes = np.fromiter(
            (0 if c is None else names.setdefault(str(c), len(names) + 1) for c in snap.cameras),
            np.int32,
            len(snap),
        )
        arrays: dict[str, np.ndarray] = {
            "ids": np.ascontiguousarray(snap.ids, np.int64),
            "visual_codes": np.ascontiguousarray(snap.visual_codes, np.int8),
            "visual_scale": np.ascontiguousarray(snap.visual_scale, np.float32),
            "top_ids": np.ascontiguousarray(snap.top_ids, np.int64),
            "top_probs": np.ascontiguousarray(snap.top_probs, np.float32),
            "dates": np.ascontiguousarray(snap.dates, np.float64),
            "cameras": codes,
        }
        if snap.semantic is not None:
            arrays["semantic"] = np.ascontiguousarray(snap.semantic, np.float32)
        header: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "db": self.db_key,
            "token": token,
            "seq": int(seq),
            "visual_model": layout.visual_model,
            "visual_dim": layout.visual_dim,
            "semantic_space": layout.semantic_space,
            "semantic_dim": layout.semantic_dim,
            "cameras": sorted(names, key=names.__getitem__),
            "arrays": {},
        }
        # Offsets depend on the header's length, which depends on the offsets: reserve room.
        slack = 4096 + 64 * len(arrays) + len(json.dumps(header["cameras"]))
        offset = _aligned(16 + slack)
        for name, array in arrays.items():
            header["arrays"][name] = [offset, array.dtype.str, list(array.shape)]
            offset = _aligned(offset + array.nbytes)
        blob = json.dumps(header).encode("utf-8")
        if 16 + len(blob) > _aligned(16 + slack):
            raise ValueError("vector cache header too large")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(MAGIC + len(blob).to_bytes(8, "little") + blob)
                for name, array in arrays.items():
                    f.seek(header["arrays"][name][0])
                    f.write(array.data)  # contiguous: written without a copy
                f.truncate(offset)
            os.replace(tmp, self.path)  # fails on Windows while mapped: the old file stays valid
        finally:
            if tmp.exists():
                tmp.unlink()
        self.saves += 1


def _remove_stale_temporaries(path: Path, age_s: float = 3600) -> None:
    """Temporary files left by a process killed while writing."""
    for tmp in path.parent.glob(path.name + ".*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > age_s:
                tmp.unlink()
        except OSError:
            pass


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def _map(path: Path, offset: int, dtype: str, shape: list[int]) -> np.ndarray:
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, np.dtype(dtype))
    mapped = np.memmap(path, dtype=np.dtype(dtype), mode="r", offset=offset, shape=tuple(shape))
    return np.asarray(mapped)  # a plain (read-only) ndarray over the map
