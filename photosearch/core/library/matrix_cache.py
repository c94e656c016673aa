"""The memory-mapped matrix file: a :class:`~photosearch.core.library.snapshot.Snapshot` saved in
the cache folder so that a large library starts without reading every vector out of SQLite.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.library.meta import set_meta
from photosearch.core.library.snapshot import Layout, Snapshot, from_arrays
from photosearch.core.library.store import Library
from photosearch.core.library.writer import WriterClosedError

log = logging.getLogger(__name__)

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

    def identity(self, layout: Layout, token: str) -> dict[str, Any]:
        """What a file must say it was written for to be used."""
        return {
            "version": FORMAT_VERSION,
            "db": self.db_key,
            "token": token,
            "visual_model": layout.visual_model,
            "visual_dim": layout.visual_dim,
            "semantic_space": layout.semantic_space,
            "semantic_dim": layout.semantic_dim,
        }

    # --- reading -------------------------------------------------------------------------
    def load(self, layout: Layout, db_seq: int, token: str | None) -> tuple[Snapshot, int] | None:
        """The cached snapshot and its ``seq``, or None when absent, stale or for another
        database, model or word space. ``token`` is the database's ``vector_cache_token``."""
        if not token:
            return None
        header = self._read_header()
        if header is None:
            return None
        expected = self.identity(layout, token)
        if any(header.get(key) != value for key, value in expected.items()):
            return None
        seq = header.get("seq")
        if not isinstance(seq, int) or seq > db_seq:
            return None  # written from another (newer, since restored) state of the database
        snap = self._map_snapshot(header)
        return (snap, seq) if snap is not None and _fits(snap, layout) else None

    def _read_header(self) -> dict[str, Any] | None:
        try:
            with open(self.path, "rb") as f:
                head = f.read(16)
                if len(head) != 16 or head[:8] != MAGIC:
                    return None
                size = int.from_bytes(head[8:], "little")
                header = json.loads(f.read(size).decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return header if isinstance(header, dict) else None

    def _map_snapshot(self, header: dict[str, Any]) -> Snapshot | None:
        try:
            arrays = {
                name: _map(self.path, offset, dtype, shape)
                for name, (offset, dtype, shape) in header["arrays"].items()
            }
            names = np.asarray([None, *header["cameras"]], object)
            arrays["cameras"] = names[np.asarray(arrays["cameras"], np.intp)]
            return from_arrays(arrays)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("ignoring the unreadable vector cache %s: %s", self.path, exc)
            return None

    # --- writing -------------------------------------------------------------------------
    def save_async(self, library: Library, snap: Snapshot, seq: int, layout: Layout) -> bool:
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

    def _save_logged(self, library: Library, snap: Snapshot, seq: int, layout: Layout) -> None:
        try:
            self.save(library, snap, seq, layout)
        except WriterClosedError:  # the program ended first: the next start writes it
            log.debug("vector cache %s not written: the library was closed", self.path)
        except Exception as exc:  # a full disk or a read-only cache must not break search
            log.warning("could not write the vector cache %s: %s", self.path, exc)

    def save(self, library: Library, snap: Snapshot, seq: int, layout: Layout) -> None:
        """Write the file for ``snap`` (the state of ``library`` at ``seq``)."""
        # A new token in the database first: should the file then fail to be written, the old
        # file no longer matches and is ignored.
        token = uuid.uuid4().hex
        library.write(lambda db: set_meta(db, CACHE_TOKEN_KEY, token))
        arrays, cameras = _arrays_to_write(snap)
        header: dict[str, Any] = {
            **self.identity(layout, token),
            "seq": int(seq),
            "cameras": cameras,
            "arrays": {},
        }
        # Offsets depend on the header's length, which depends on the offsets: reserve room.
        slack = 4096 + 64 * len(arrays) + len(json.dumps(cameras))
        offset = _aligned(16 + slack)
        for name, array in arrays.items():
            header["arrays"][name] = [offset, array.dtype.str, list(array.shape)]
            offset = _aligned(offset + array.nbytes)
        blob = json.dumps(header).encode("utf-8")
        if 16 + len(blob) > _aligned(16 + slack):
            raise ValueError("vector cache header too large")
        self._write(
            MAGIC + len(blob).to_bytes(8, "little") + blob, header["arrays"], arrays, offset
        )
        self.saves += 1

    def _write(
        self, head: bytes, places: dict[str, Any], arrays: dict[str, np.ndarray], end: int
    ) -> None:
        """Write a temporary file and rename it over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(head)
                for name, array in arrays.items():
                    f.seek(places[name][0])
                    f.write(array.data)  # contiguous: written without a copy
                f.truncate(end)
            os.replace(tmp, self.path)  # fails on Windows while mapped: the old file stays valid
        finally:
            if tmp.exists():
                tmp.unlink()


def _fits(snap: Snapshot, layout: Layout) -> bool:
    n = len(snap)
    return (
        snap.visual_codes.shape == (n, layout.visual_dim)
        and snap.visual_codes.dtype == np.int8
        and snap.visual_scale.shape == (n,)
        and len(snap.cameras) == n
    )


def _arrays_to_write(snap: Snapshot) -> tuple[dict[str, np.ndarray], list[str]]:
    """The file's arrays (contiguous, cameras as indices into the names, 0 for none) and the
    camera names."""
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
    return arrays, sorted(names, key=names.__getitem__)


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
