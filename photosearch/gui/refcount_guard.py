"""A stopgap for a PySide6 6.12 bug on Python 3.11: methods that return nothing (every
``QPainter.save()``, ``fillRect()``, ``QModelIndex.data()`` of an empty value, …) hand back
``None`` without counting a reference, so each call lowers None's reference count by one. On
Python 3.12+ None is immortal and nothing happens; on 3.11 a few minutes of scrolling reach zero
and the interpreter aborts ("none_dealloc: deallocating None").

The guard adds a large reserve of references to None, True and False and tops it up from a
timer. It is a no-op where the bug cannot bite. The real fix is a PySide6 without the bug, or
Python 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

from photosearch.gui.qt import QTimer

RESERVE = 1_000_000
TOP_UP_MS = 200

_expected: list[int] = []
_timer: QTimer | None = None
VALUES = (None, True, False)


def needed() -> bool:
    return sys.version_info < (3, 12) and sys.implementation.name == "cpython"


def _add_references(value: object, n: int) -> None:
    # The references the binding dropped, given back directly; never released, so interpreter
    # shutdown cannot drive the counts to zero either.
    count = ctypes.c_ssize_t.from_address(id(value))
    count.value += n


def _top_up() -> None:
    """Put back the references the bug took since the last tick."""
    for value, expected in zip(VALUES, _expected):
        deficit = expected - sys.getrefcount(value)
        if deficit > 0:
            _add_references(value, deficit)


def install() -> None:
    """Start the guard once per process (idempotent; needs a QApplication)."""
    global _timer
    if not needed() or _timer is not None:
        return
    for value in VALUES:
        _add_references(value, RESERVE)
        _expected.append(sys.getrefcount(value))
    _timer = QTimer()
    _timer.setInterval(TOP_UP_MS)
    _timer.timeout.connect(_top_up)
    _timer.start()
