"""The visual vectors as int8 rows with one float32 scale each, and their exact scan.

868 B a photo instead of 1,632 B at 256-d; image→image P@10 on the dev photos is unchanged
(``benchmarks/vector_storage.py``, docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
