"""Typed access to the app's persisted preferences (QSettings, per user)."""

from __future__ import annotations

from photosearch.gui.qt import QByteArray, QSettings

ORGANIZATION = "photosearch"
APPLICATION = "photosearch"
DEFAULT_MODEL = (
    "efficientnet_lite0"  # same as photosearch.core.vision.encoder.DEFAULT_MODEL (no torch here)
)
THUMB_MIN, THUMB_MAX, THUMB_DEFAULT = 96, 320, 168
SORTS = ("best", "newest", "oldest")  # the grid's order: score, or capture date either way


class Settings:
    """What the user can change in the Settings dialog, plus window state.

    The watched folders live in the library database (its source of truth); the dialog edits them
    there rather than keeping a second copy here.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._s = qsettings or QSettings(ORGANIZATION, APPLICATION)

    def _str(self, key: str, default: str = "") -> str:
        value = self._s.value(key, default)
        return str(value) if value is not None else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._s.value(key, default))  # type: ignore[call-overload]  # typed object
        except (TypeError, ValueError):
            return default

    @property
    def word_vectors(self) -> str:
        """A word-vector file chosen by the user; "" means the shipped vectors."""
        return self._str("search/word_vectors")

    @word_vectors.setter
    def word_vectors(self, value: str) -> None:
        self._s.setValue("search/word_vectors", value)

    @property
    def image_model(self) -> str:
        return self._str("search/image_model", DEFAULT_MODEL) or DEFAULT_MODEL

    @image_model.setter
    def image_model(self, value: str) -> None:
        self._s.setValue("search/image_model", value)

    @property
    def thumbnail_size(self) -> int:
        return max(THUMB_MIN, min(THUMB_MAX, self._int("view/thumbnail_size", THUMB_DEFAULT)))

    @thumbnail_size.setter
    def thumbnail_size(self, value: int) -> None:
        self._s.setValue("view/thumbnail_size", int(value))

    @property
    def sort(self) -> str:
        value = self._str("view/sort", SORTS[0])
        return value if value in SORTS else SORTS[0]

    @sort.setter
    def sort(self, value: str) -> None:
        self._s.setValue("view/sort", value if value in SORTS else SORTS[0])

    def window_state(self, key: str) -> QByteArray | None:
        value = self._s.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else None

    def set_window_state(self, key: str, value: QByteArray) -> None:
        self._s.setValue(f"window/{key}", value)

    def sync(self) -> None:
        self._s.sync()
