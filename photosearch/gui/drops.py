"""What a drop on the window means: folders to add, or an image to search with.

An image can arrive as a local file (file manager), as image data (a browser drags the picture
itself) or only as a web address (which cannot be fetched: the app is offline).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from photosearch.core.library.store import default_cache_dir
from photosearch.gui.qt import QImage, QMimeData

IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif",
}  # fmt: skip


@dataclass
class Drop:
    folders: list[str] = field(default_factory=list)
    image: str = ""  # a local image file to search with
    problem: str = ""  # why nothing useful could be taken from the drop

    @property
    def useful(self) -> bool:
        return bool(self.folders or self.image)


def looks_like_image_file(path: str) -> bool:
    return os.path.isfile(path) and Path(path).suffix.lower() in IMAGE_SUFFIXES


def dropped_images_dir() -> Path:
    return default_cache_dir() / "dropped"


def save_image_data(image: QImage) -> str:
    """Store dragged image data as a PNG in the cache (named by content) and return its path."""
    folder = dropped_images_dir()
    folder.mkdir(parents=True, exist_ok=True)
    bits = image.constBits()
    digest = hashlib.sha1(bytes(bits) if bits is not None else b"").hexdigest()[:20]
    path = folder / f"dropped-{digest}.png"
    if not path.exists():
        image.save(str(path), "PNG")  # type: ignore[call-overload]  # stubs: bytes; runtime: str
    return str(path)


def acceptable(mime: QMimeData) -> bool:
    return mime.hasUrls() or mime.hasImage()


def interpret(mime: QMimeData) -> Drop:
    drop = Drop()
    remote = []
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile():
            path = url.toLocalFile()
            if os.path.isdir(path):
                drop.folders.append(path)
            elif not drop.image and looks_like_image_file(path):
                drop.image = path
        elif url.scheme() in ("http", "https", "data"):
            remote.append(url.toString())
    if not drop.image and mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            drop.image = save_image_data(image)
    if not drop.useful:
        if remote:
            drop.problem = (
                "That picture is on the web, and photosearch works offline. "
                "Save it to your computer, then drop the file here."
            )
        else:
            drop.problem = "Drop a photo to find similar ones, or a folder to add it."
    return drop
