"""What a step of indexing changed in the library, by photo id: one record for the full sync, the
targeted sync of the watcher, moves, embedding, and a whole run.

Readers decide what to refresh from it (the CLI prints its counts, the GUI re-reads the grid only
when something changed), in the spirit of Anki's ``OpChanges``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, overload

_ID_LISTS = (
    "added_ids",
    "changed_ids",
    "moved_ids",
    "removed_ids",
    "offline_ids",
    "restored_ids",
    "embedded_ids",
    "error_ids",
)


class _Count:
    """A read-only attribute: the length of one of the id lists."""

    def __init__(self, ids: str) -> None:
        self.ids = ids

    @overload
    def __get__(self, changes: None, owner: type) -> _Count: ...
    @overload
    def __get__(self, changes: Changes, owner: type | None = None) -> int: ...
    def __get__(self, changes: Changes | None, owner: type | None = None) -> int | _Count:
        return self if changes is None else len(getattr(changes, self.ids))

    def __set__(self, changes: Changes, value: int) -> None:
        raise AttributeError(f"a count: change {self.ids} instead")


@dataclass
class Changes:
    """The photos a step added, changed (new content: embedded again), moved (same row, new
    path), removed (file gone: missing), took offline, restored, embedded or failed to read."""

    reason: str = "scan"  # "scan" | "sync" | "move" | "embed" | "folders" | "index"
    seq: int = 0  # the library's change counter afterwards (0: not read)
    added_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    moved_ids: list[int] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)
    offline_ids: list[int] = field(default_factory=list)
    restored_ids: list[int] = field(default_factory=list)
    embedded_ids: list[int] = field(default_factory=list)
    error_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    rechecked: int = 0  # files re-hashed because their stat signature changed
    seconds: float = 0.0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message)

    # How many photos each list holds, by the names the CLI and the GUI print.
    added = _Count("added_ids")
    updated = _Count("changed_ids")
    moved = _Count("moved_ids")
    missing = _Count("removed_ids")
    offline = _Count("offline_ids")
    restored = _Count("restored_ids")
    embedded = _Count("embedded_ids")
    errors = _Count("error_ids")

    @property
    def empty(self) -> bool:
        """Nothing a view shows changed (unchanged and re-checked files do not count)."""
        return not any(getattr(self, name) for name in _ID_LISTS)

    def photo_ids(self) -> set[int]:
        """Every photo this step touched."""
        return {i for name in _ID_LISTS for i in getattr(self, name)}

    def merge(self, other: Changes) -> Changes:
        """Add ``other``'s photos and counts to this record (its seq wins); returns self."""
        for name in _ID_LISTS:
            getattr(self, name).extend(getattr(other, name))
        self.unchanged += other.unchanged
        self.rechecked += other.rechecked
        self.problems.extend(other.problems)
        self.seq = max(self.seq, other.seq)
        return self

    def summary(self) -> str:
        """For the log: "2 new, 1 changed, 0 moved, 0 restored, 3 missing, 0 offline"."""
        return (
            f"{self.added} new, {self.updated} changed, {self.moved} moved, "
            f"{self.restored} restored, {self.missing} missing, {self.offline} offline"
        )

    def as_dict(self) -> dict[str, Any]:
        """The summary ``photosearch index --json`` prints (restored photos count as
        unchanged there: nothing about them is new)."""
        return {
            "added": self.added,
            "updated": self.updated,
            "moved": self.moved,
            "missing": self.missing,
            "offline": self.offline,
            "errors": self.errors,
            "embedded": self.embedded,
            "unchanged": self.unchanged + self.restored,
            "seconds": self.seconds,
            "problems": [{"path": p, "message": m} for p, m in self.problems],
        }

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{f.name.removesuffix('_ids')}={len(getattr(self, f.name))}"
            for f in fields(self)
            if f.name in _ID_LISTS and getattr(self, f.name)
        )
        return f"Changes({self.reason!r}, seq={self.seq}{', ' if counts else ''}{counts})"
