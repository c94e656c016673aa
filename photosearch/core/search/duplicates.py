"""Exact and near-duplicate photos.

Exact duplicates share a content hash (BLAKE2b of the whole file). Near-duplicates — resized,
re-encoded, slightly cropped, brightened or mirrored copies, burst shots — are pairs whose visual
vectors have a cosine similarity of at least a threshold. The pairs come from blocked matrix
products over the index's vector matrix (tiles of ``block`` × ``block``, thresholded with numpy),
never from a Python loop over all pairs; union-find then joins pairs into groups.

Cost: n²/2 dot products of 256 floats. 100,000 photos take about a minute on two cores
(``benchmarks/duplicates.py``; figures in docs/benchmarks.md, "Duplicates").

Nothing here writes to photo files. :func:`photosearch.core.library.photo_status.mark_missing`
records, through the library's writer, that files the user chose to trash are gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photosearch.core.library.photo_status import indexed_hashes
from photosearch.core.library.quantized import QuantizedRows
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.vision.pixel_check import verify_pairs

# Chosen by measurement on the dev photos (tools/tune_duplicates_threshold.py, docs/benchmarks.md
# "Duplicates"). Pairs whose vectors score at least DEFAULT_THRESHOLD are candidates, confirmed by
# the pixel check (photosearch.core.vision.pixel_check): that keeps edited copies whose vectors drift
# (a 50% resize of a small photo scores 0.77 at the 5th percentile) and drops look-alikes the vectors cannot tell
# apart. Without the pixel check (unreadable file, or verify=False) the vectors alone decide, at
# UNVERIFIED_THRESHOLD.
DEFAULT_THRESHOLD = 0.70
UNVERIFIED_THRESHOLD = 0.88
BLOCK = 4096

ProgressFn = Callable[[int, int], None]


class Cancelled(Exception):
    """Raised by :func:`find_duplicates` when its ``cancel`` event is set."""


@dataclass(frozen=True)
class DuplicatePhoto:
    photo_id: int
    path: str
    score: float  # cosine similarity to the group's first photo (1.0 for a byte-identical copy)
    size: int
    width: int | None
    height: int | None
    date: float  # capture time, else file modification time
    exact: bool  # byte-identical to the group's first photo

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": round(float(self.score), 6),
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "date": self.date,
            "exact": self.exact,
        }


@dataclass
class DuplicateGroup:
    """Photos that are copies of one another; ``photos[0]`` is the suggested keeper."""

    photos: list[DuplicatePhoto] = field(default_factory=list)

    @property
    def keeper(self) -> DuplicatePhoto:
        return self.photos[0]

    @property
    def reclaimable(self) -> int:
        """Bytes freed by keeping only the suggested keeper."""
        return sum(p.size for p in self.photos[1:])

    def as_list(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.photos]


# --- pairs and groups over a plain matrix (no database) ---------------------------------------
def similar_pairs(
    vectors: np.ndarray | QuantizedRows,
    threshold: float,
    block: int = BLOCK,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with ``vectors[i] · vectors[j] >= threshold``.

    ``vectors`` are (n, d) L2-normalised rows. Returns (i, j, similarity) arrays. Work is tiled
    ``block`` × ``block`` over the upper triangle, so memory stays at one tile (64 MiB at 4096).
    """
    # The index's int8 rows are widened a block at a time, never as one float32 copy.
    x = vectors if isinstance(vectors, QuantizedRows) else np.ascontiguousarray(vectors, np.float32)
    n = x.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    starts = list(range(0, n, block))
    total = len(starts) * (len(starts) + 1) // 2
    done = 0
    for bi in starts:
        a = x[bi : bi + block]
        for bj in starts:
            if bj < bi:
                continue
            if cancel is not None and cancel.is_set():
                raise Cancelled
            tile = a @ x[bj : bj + block].T
            r, c = np.nonzero(tile >= threshold)
            if bj == bi:  # the diagonal tile: keep only its strict upper triangle
                keep = r < c
                r, c = r[keep], c[keep]
            if r.size:
                rows.append(r + bi)
                cols.append(c + bj)
                sims.append(tile[r, c])
            done += 1
            if progress is not None:
                progress(done, total)
    if not rows:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.float32)
    return (
        np.concatenate(rows).astype(np.int64),
        np.concatenate(cols).astype(np.int64),
        np.concatenate(sims).astype(np.float32),
    )


def connected_groups(n: int, i: np.ndarray, j: np.ndarray) -> list[np.ndarray]:
    """Union-find over the edges (i, j) of ``n`` nodes: the components of two or more nodes."""
    parent = np.arange(n, dtype=np.int64)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = int(parent[root])
        while parent[a] != root:  # path compression
            parent[a], a = root, int(parent[a])
        return root

    for a, b in zip(i.tolist(), j.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = parent
    while True:  # pointer jumping: every node straight to its root
        jumped = roots[roots]
        if np.array_equal(jumped, roots):
            break
        roots = jumped
    order = np.argsort(roots, kind="stable")
    split = np.flatnonzero(np.diff(roots[order])) + 1
    return [g for g in np.split(order, split) if g.size > 1]


# --- the library ------------------------------------------------------------------------------
def find_duplicates(
    library: Library,
    threshold: float | None = None,
    index: VectorIndex | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    block: int = BLOCK,
    verify: bool = True,
) -> list[DuplicateGroup]:
    """Groups of exact and near-duplicate photos among the library's indexed photos.

    Each group's first photo is the suggested keeper: the largest resolution, then the largest
    file, then the oldest date, then the path. The others follow in the same order; every score is
    the similarity to the keeper. Groups come largest reclaimable size first.
    """
    snap = (index or VectorIndex(library)).snapshot()
    n = len(snap)
    if n == 0:
        return []
    ids = snap.ids
    row_of = {int(pid): r for r, pid in enumerate(ids)}
    hashes = indexed_hashes(library.reader())
    hash_rows = [hashes.get(int(pid)) for pid in ids]

    if threshold is None:
        threshold = DEFAULT_THRESHOLD if verify else UNVERIFIED_THRESHOLD
    i, j, sims = similar_pairs(snap.visual, threshold, block, progress, cancel)
    if verify and len(i):
        i, j = _confirmed_by_pixels(library, ids, i, j, sims)
    # Exact copies join by hash even when their vectors disagree (e.g. another model's vectors).
    by_hash: dict[str, int] = {}
    ei: list[int] = []
    ej: list[int] = []
    for r, h in enumerate(hash_rows):
        if h is None:
            continue
        first = by_hash.setdefault(h, r)
        if first != r:
            ei.append(first)
            ej.append(r)
    if ei:
        i = np.concatenate([i, np.asarray(ei, np.int64)])
        j = np.concatenate([j, np.asarray(ej, np.int64)])

    components = connected_groups(n, i, j)
    photos = library.photos(int(ids[r]) for g in components for r in g)
    groups: list[DuplicateGroup] = []
    for rows in components:
        members = [photos[int(ids[r])] for r in rows if int(ids[r]) in photos]
        if len(members) < 2:
            continue
        members.sort(key=lambda p: (-(p.width or 0) * (p.height or 0), -p.size, p.date, p.path))
        keeper = members[0]
        keeper_vec = snap.visual[row_of[keeper.id]]
        group = DuplicateGroup()
        for p in members:
            exact = p.content_hash is not None and p.content_hash == keeper.content_hash
            score = 1.0 if exact else float(np.clip(snap.visual[row_of[p.id]] @ keeper_vec, -1, 1))
            group.photos.append(
                DuplicatePhoto(p.id, p.path, score, p.size, p.width, p.height, p.date, exact)
            )
        groups.append(group)
    groups.sort(key=lambda g: (-g.reclaimable, g.keeper.path))
    return groups


def _confirmed_by_pixels(
    library: Library, ids: np.ndarray, i: np.ndarray, j: np.ndarray, sims: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs that also look alike pixel for pixel; pairs whose files cannot be read
    are kept when the vectors alone are convincing (UNVERIFIED_THRESHOLD)."""
    rows = sorted(set(i.tolist()) | set(j.tolist()))
    photos = library.photos(int(ids[r]) for r in rows)
    paths = {r: photos[int(ids[r])].path for r in rows if int(ids[r]) in photos}
    order = list(paths)
    slot = {r: k for k, r in enumerate(order)}
    candidates = [
        (slot[a], slot[b]) for a, b in zip(i.tolist(), j.tolist()) if a in slot and b in slot
    ]
    alike, unchecked = verify_pairs([paths[r] for r in order], candidates)
    sim_of = {(int(a), int(b)): float(s) for a, b, s in zip(i, j, sims)}
    kept = [(order[a], order[b]) for a, b in alike]
    kept += [
        (order[a], order[b])
        for a, b in unchecked
        if sim_of.get((order[a], order[b]), 0.0) >= UNVERIFIED_THRESHOLD
    ]
    if not kept:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy()
    pairs = np.asarray(kept, np.int64)
    return pairs[:, 0], pairs[:, 1]
