"""The in-memory search index: the library's vectors as numpy matrices, rebuilt from SQLite.

SQLite stays the source of truth; this is a cache for the hot path. sqlite-vec 0.1.x scans by
brute force without SIMD, several times slower than a numpy matrix product, so queries run here.
:meth:`VectorIndex.refresh` applies only the rows changed since the last refresh (the ``seq``
counter), which keeps the index consistent with an indexer writing concurrently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from photosearch.core.store import (
    SEMANTIC_TABLE,
    TOP_K_CLASSES,
    VISUAL_TABLE,
    Library,
    decode_classes,
    table_exists,
)

CHUNK = 5000


@dataclass
class Snapshot:
    """Immutable arrays for one query; rows are aligned across all of them."""

    ids: np.ndarray  # (n,) int64 photo ids
    visual: np.ndarray  # (n, Dv) float32
    semantic: np.ndarray | None  # (n, Ds) float32, or None without a word space
    top_ids: np.ndarray  # (n, K) int64
    top_probs: np.ndarray  # (n, K) float32
    dates: np.ndarray  # (n,) float64: capture time, else mtime
    cameras: np.ndarray  # (n,) object: camera name or None

    def __len__(self) -> int:
        return int(self.ids.shape[0])


class VectorIndex:
    def __init__(self, library: Library) -> None:
        self.library = library
        self._lock = threading.Lock()
        self._seq = -1
        self._rows: dict[int, int] = {}
        self._snapshot = self._empty(0, None)

    @staticmethod
    def _empty(dv: int, ds: int | None) -> Snapshot:
        return Snapshot(
            np.zeros(0, np.int64),
            np.zeros((0, dv), np.float32),
            None if ds is None else np.zeros((0, ds), np.float32),
            np.zeros((0, TOP_K_CLASSES), np.int64),
            np.zeros((0, TOP_K_CLASSES), np.float32),
            np.zeros(0, np.float64),
            np.zeros(0, object),
        )

    def snapshot(self) -> Snapshot:
        self.refresh()
        return self._snapshot

    def refresh(self) -> bool:
        """Apply changes since the last refresh; returns whether anything changed."""
        with self._lock:
            seq = self.library.seq()
            if seq == self._seq:
                return False
            db = self.library.reader()
            if not table_exists(db, VISUAL_TABLE):
                self._seq = seq
                return False
            if self._seq < 0 or self._needs_rebuild():
                self._rebuild(seq)
            else:
                self._apply_changes(seq)
            return True

    def _needs_rebuild(self) -> bool:
        snap = self._snapshot
        has_semantic = table_exists(self.library.reader(), SEMANTIC_TABLE)
        return (snap.semantic is None) == has_semantic

    def _dims(self) -> tuple[int, int | None]:
        dv = int(self.library.meta("visual_model_dim", "0") or 0)
        ds_text = self.library.meta("semantic_space_dim")
        has_semantic = table_exists(self.library.reader(), SEMANTIC_TABLE)
        return dv, (int(ds_text) if ds_text and has_semantic else None)

    def _load(self, where: str, params: tuple[object, ...]) -> Snapshot:
        """Load indexed photos matching ``where`` (over the ``photos p`` table)."""
        db = self.library.reader()
        dv, ds = self._dims()
        semantic_join = (
            f"LEFT JOIN {SEMANTIC_TABLE} s ON s.photo_id = p.id" if ds is not None else ""
        )
        semantic_col = "s.embedding" if ds is not None else "NULL"
        sql = (
            f"SELECT p.id, v.embedding, {semantic_col}, c.class_ids, c.probs, "
            f"COALESCE(p.taken_at, p.mtime), p.camera "
            f"FROM photos p JOIN {VISUAL_TABLE} v ON v.photo_id = p.id "
            f"JOIN photo_classes c ON c.photo_id = p.id {semantic_join} "
            f"WHERE p.status = 'indexed' AND {where} ORDER BY p.id"
        )
        ids, visual, semantic, top_ids, top_probs, dates, cameras = [], [], [], [], [], [], []
        zero_sem = np.zeros(ds or 0, np.float32)
        for row in db.iter(sql, params):
            ids.append(row[0])
            visual.append(np.frombuffer(row[1], dtype=np.float32))
            if ds is not None:
                semantic.append(np.frombuffer(row[2], dtype=np.float32) if row[2] else zero_sem)
            cid, cp = decode_classes(row[3], row[4])
            top_ids.append(cid)
            top_probs.append(cp)
            dates.append(row[5])
            cameras.append(row[6])
        if not ids:
            return self._empty(dv, ds)
        return Snapshot(
            np.asarray(ids, np.int64),
            np.vstack(visual).astype(np.float32, copy=False),
            np.vstack(semantic).astype(np.float32, copy=False) if ds is not None else None,
            np.vstack(top_ids),
            np.vstack(top_probs),
            np.asarray(dates, np.float64),
            np.asarray(cameras, object),
        )

    def _rebuild(self, seq: int) -> None:
        snap = self._load("1", ())
        self._snapshot = snap
        self._rows = {int(pid): i for i, pid in enumerate(snap.ids)}
        self._seq = seq

    def _apply_changes(self, seq: int) -> None:
        db = self.library.reader()
        changed = [r[0] for r in db.iter("SELECT id FROM photos WHERE seq > ?", (self._seq,))]
        removed_total = db.scalar("SELECT COUNT(*) FROM photos WHERE status = 'indexed'")
        fresh = self._load("p.seq > ?", (self._seq,))
        old = self._snapshot
        keep = np.ones(len(old), bool)
        for pid in changed:
            row = self._rows.get(pid)
            if row is not None:
                keep[row] = False
        if not keep.all() or len(fresh):
            merged = Snapshot(
                np.concatenate([old.ids[keep], fresh.ids]),
                np.concatenate([old.visual[keep], fresh.visual]),
                None
                if old.semantic is None or fresh.semantic is None
                else np.concatenate([old.semantic[keep], fresh.semantic]),
                np.concatenate([old.top_ids[keep], fresh.top_ids]),
                np.concatenate([old.top_probs[keep], fresh.top_probs]),
                np.concatenate([old.dates[keep], fresh.dates]),
                np.concatenate([old.cameras[keep], fresh.cameras]),
            )
            self._snapshot = merged
            self._rows = {int(pid): i for i, pid in enumerate(merged.ids)}
        self._seq = seq
        if removed_total != len(self._snapshot):  # e.g. a folder removed: rows deleted outright
            self._rebuild(seq)
