"""The search index's arrays (:class:`Snapshot`), built from the rows SQLite returns and
combined without copying more than needed.

A snapshot's arrays may be read-only memory maps (:mod:`.matrix_cache`): they are never modified
in place, only copied, sliced (views) or written past their end (spare rows).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosearch.core.library.quantized import QuantizedRows, quantize_rows
from photosearch.core.library.vectors import TOP_K_CLASSES, decode_classes

CHUNK = 5000  # rows converted at a time while filling
FIELDS = (
    "ids",
    "visual_codes",
    "visual_scale",
    "semantic",
    "top_ids",
    "top_probs",
    "dates",
    "cameras",
)


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
        arrays = [getattr(self, name) for name in FIELDS]
        return sum(a.nbytes for a in arrays if a is not None)


@dataclass(frozen=True)
class Layout:
    """What the stored vectors are: a cache made for another layout is useless."""

    visual_model: str | None
    visual_dim: int
    semantic_space: str | None
    semantic_dim: int | None


def allocate(cap: int, dv: int, ds: int | None) -> Snapshot:
    """A snapshot of ``cap`` rows, not filled (``cap`` 0: an empty one)."""
    k = TOP_K_CLASSES
    return Snapshot(
        np.empty(cap, np.int64),
        np.empty((cap, dv), np.int8),
        np.empty(cap, np.float32),
        None if ds is None else np.empty((cap, ds), np.float32),
        np.empty((cap, k), np.int64),
        np.empty((cap, k), np.float32),
        np.empty(cap, np.float64),
        np.empty(cap, object),
    )


def fill(rows: Iterator[Sequence[Any]], cap: int, layout: Layout) -> Snapshot:
    """The snapshot of ``rows`` (id, visual blob, semantic blob or None, class ids blob, probs
    blob, date, camera), filled in chunks into arrays of ``cap`` rows (the count made in the
    same read transaction), so that a million photos need little more memory than the result."""
    dv, ds = layout.visual_dim, layout.semantic_dim
    if cap == 0:
        return allocate(0, dv, ds)
    out = allocate(cap, dv, ds)
    n = 0
    while chunk := list(itertools.islice(rows, CHUNK)):
        if n + len(chunk) > cap:  # cannot happen inside one read transaction; stay correct anyway
            cap = 2 * (n + len(chunk))
            out = grow(out, cap)
        _fill_rows(out, n, chunk, layout)
        n += len(chunk)
    if n == 0:
        return allocate(0, dv, ds)
    return merge(out, slice(0, n), None) if n < cap else out


def _fill_rows(out: Snapshot, start: int, chunk: list[Sequence[Any]], layout: Layout) -> None:
    m, dv, ds = len(chunk), layout.visual_dim, layout.semantic_dim
    part = slice(start, start + m)
    out.ids[part] = [r[0] for r in chunk]
    visual = _rows_of([r[1] for r in chunk], m, dv, np.float32)
    out.visual_codes[part], out.visual_scale[part] = quantize_rows(visual)
    if out.semantic is not None and ds is not None:
        zero = bytes(4 * ds)
        out.semantic[part] = _rows_of([r[2] or zero for r in chunk], m, ds, np.float32)
    out.top_ids[part], out.top_probs[part] = _classes(
        [r[3] for r in chunk], [r[4] for r in chunk], m
    )
    out.dates[part] = [r[5] for r in chunk]
    out.cameras[part] = [r[6] for r in chunk]


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


def grow(snap: Snapshot, cap: int) -> Snapshot:
    """A copy of ``snap`` with room for ``cap`` rows (those past its own not filled)."""

    def grown(a: np.ndarray) -> np.ndarray:
        out = np.empty((cap, *a.shape[1:]), a.dtype)
        out[: len(a)] = a
        return out

    return from_arrays({name: _maybe(grown, getattr(snap, name)) for name in FIELDS})


def merge(old: Snapshot, keep: np.ndarray | slice, fresh: Snapshot | None) -> Snapshot:
    """``old``'s rows where ``keep``, then ``fresh``'s rows."""

    def merged(name: str) -> np.ndarray | None:
        a = getattr(old, name)
        b = None if fresh is None else getattr(fresh, name)
        if a is None or (fresh is not None and b is None):
            return None  # the semantic vectors, when one side has none
        return a[keep] if fresh is None else np.concatenate([a[keep], b])

    return from_arrays({name: merged(name) for name in FIELDS})


def _maybe(fn: Callable[[np.ndarray], np.ndarray], a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else fn(a)


def from_arrays(arrays: dict[str, Any]) -> Snapshot:
    """The snapshot of one array per name of :data:`FIELDS` (``semantic`` may be None or
    absent); KeyError when another is absent."""
    values: dict[str, Any] = {name: arrays[name] for name in FIELDS if name != "semantic"}
    values["semantic"] = arrays.get("semantic")
    return Snapshot(**values)
