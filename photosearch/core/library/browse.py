"""The GUI's browsing reads: the whole library by date, photo dates, camera counts.

Plain rows, no vectors: these stay fast at 100k photos. Run on the GUI's worker threads.
"""

from __future__ import annotations

from collections.abc import Iterable

from photosearch.core.library.db import chunked_in
from photosearch.core.library.rows import path_from_db
from photosearch.core.library.store import Library


def photos_by_date(library: Library, k: int | None = None) -> list[tuple[int, str, float]]:
    """(id, path, date) of every indexed photo, newest first (capture time, else file time)."""
    sql = (
        "SELECT id, path, COALESCE(taken_at, mtime) AS date FROM photos "
        "WHERE status = 'indexed' ORDER BY date DESC, id DESC"
    )
    params: tuple[int, ...] = ()
    if k is not None:
        sql += " LIMIT ?"
        params = (k,)
    rows = library.reader().query(sql, params)
    return [(int(pid), path_from_db(path), float(date)) for pid, path, date in rows]


def photo_dates(library: Library, photo_ids: Iterable[int]) -> dict[int, float]:
    """Capture time (else file time) of each photo: what the grid sorts by date."""
    sql = "SELECT id, COALESCE(taken_at, mtime) FROM photos WHERE id IN ({marks})"
    return {
        int(pid): float(date or 0.0) for pid, date in chunked_in(library.reader(), sql, photo_ids)
    }


def camera_counts(library: Library) -> list[tuple[str, int]]:
    """The cameras named by indexed photos with their photo counts, most photos first."""
    rows = library.reader().query(
        "SELECT camera, COUNT(*) AS n FROM photos WHERE status = 'indexed' "
        "AND camera IS NOT NULL AND camera != '' GROUP BY camera ORDER BY n DESC, camera"
    )
    return [(str(camera), int(n)) for camera, n in rows]
