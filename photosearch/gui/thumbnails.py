"""Thumbnails: decoded off the GUI thread, cached on disk, kept in memory for what is on screen.

* Disk: ``<cache dir>/thumbnails/ab/<sha1>.jpg``, keyed by the photo's path and stat signature
  (size, mtime, ctime, inode: an edited photo gets a new thumbnail, even one rewritten with its
  old size and mtime), its shorter side :data:`CACHE_SIDE` pixels.
* Workers: requests are served newest first (scrolling fast through 100k photos only decodes
  what is on screen now) and the queue is bounded.
* Memory: square crops at the grid's cell size, a bounded LRU of QPixmaps on the GUI thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from photosearch.core.library.private import make_private_dirs, write_private_file
from photosearch.core.library.store import default_cache_dir
from photosearch.gui.qt import (
    QBuffer,
    QByteArray,
    QImage,
    QImageReader,
    QIODevice,
    QObject,
    QPixmap,
    QSize,
    Qt,
    Signal,
)
from photosearch.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

CACHE_SIDE = 360  # shorter side of a cached thumbnail, px: sharp at the largest grid size
MAX_QUEUED = 400  # older requests beyond this are dropped (they scrolled off screen)
MEMORY_ITEMS = 1500


def default_thumbnail_dir() -> Path:
    return default_cache_dir() / "thumbnails"


def cache_key(path: str, st: os.stat_result, side: int = CACHE_SIDE) -> str:
    signature = f"{st.st_size}\0{st.st_mtime!r}\0{st.st_ctime!r}\0{st.st_ino}"
    raw = f"{path}\0{signature}\0{side}".encode("utf-8", "surrogateescape")
    return hashlib.sha1(raw).hexdigest()


class ThumbnailCache:
    """The on-disk cache. Thread-safe (files are written atomically). Private: folders 0700,
    files 0600, whatever the umask (a thumbnail shows a photo)."""

    def __init__(self, folder: Path | None = None, side: int = CACHE_SIDE) -> None:
        self.folder = Path(folder) if folder is not None else default_thumbnail_dir()
        self.side = side

    def file_for(self, path: str) -> Path | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = cache_key(path, st, self.side)
        return self.folder / key[:2] / f"{key}.jpg"

    def load(self, path: str) -> QImage:
        """The cached thumbnail of ``path``, made now if needed; a null QImage if unreadable."""
        cached = self.file_for(path)
        if cached is None:
            return QImage()
        if cached.exists():
            image = QImage(str(cached))
            if not image.isNull():
                return image
        image = decode_scaled(path, self.side)
        if not image.isNull():
            self._store(image, cached)
        return image

    @staticmethod
    def _store(image: QImage, cached: Path) -> None:
        data = jpeg_bytes(image)
        if data is None:
            return
        tmp = cached.with_name(f"{cached.stem}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            make_private_dirs(cached.parent)
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)  # left by a crash: the name is this thread's alone
            write_private_file(tmp, data)
            os.replace(tmp, cached)
        except OSError as exc:  # a full or read-only cache must not stop the thumbnails
            log.debug("cannot write thumbnail cache %s: %s", cached, exc)
            with contextlib.suppress(OSError):
                os.remove(tmp)


def jpeg_bytes(image: QImage, quality: int = 86) -> bytes | None:
    """``image`` encoded as JPEG in memory (written to disk by the caller, with its mode)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "JPEG", quality)  # type: ignore[call-overload]  # stubs: bytes; runtime: str
    buffer.close()
    return bytes(data.data()) if ok else None


def decode_scaled(path: str, short_side: int) -> QImage:
    """Decode ``path`` with its shorter side about ``short_side`` px (JPEG: scaled in the DCT),
    honouring EXIF orientation; falls back to Pillow for formats Qt lacks."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and min(size.width(), size.height()) > short_side:
        scale = short_side / min(size.width(), size.height())
        reader.setScaledSize(
            QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))
        )
    image = reader.read()
    if image.isNull():
        image = _decode_with_pillow(path, short_side)
    if image.isNull():
        return image
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _decode_with_pillow(path: str, short_side: int) -> QImage:
    # lazy: Pillow (~25 ms to import) only for the files Qt cannot read, not at startup
    from photosearch.core.vision.imageio import open_image

    try:
        pil = open_image(path, short_side).convert("RGB")
    except Exception:
        return QImage()
    if min(pil.size) > short_side:
        scale = short_side / min(pil.size)
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))))
    data = pil.tobytes("raw", "RGB")
    return QImage(data, pil.width, pil.height, 3 * pil.width, QImage.Format.Format_RGB888).copy()


def square_crop(image: QImage, side: int) -> QImage:
    """Centre square crop of ``image``, scaled to ``side`` px."""
    w, h = image.width(), image.height()
    s = min(w, h)
    cropped = image.copy((w - s) // 2, (h - s) // 2, s, s)
    return cropped.scaled(
        side, side, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class ThumbnailLoader(QObject):
    """Loads thumbnails on a few workers; ``ready(path, side)`` fires on the GUI thread.

    The workers are jobs of a :class:`TaskRunner` that each drain the request queue, newest
    request first (the cells the user is looking at now), and stop when it is empty."""

    ready = Signal(str, int)
    _loaded = Signal(str, int, QImage)

    def __init__(
        self, cache: ThumbnailCache | None = None, threads: int = 3, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.cache = cache or ThumbnailCache()
        self._runner = TaskRunner(threads, "thumbnails", self)
        self._threads = threads
        self._lock = threading.Lock()
        self._queue: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._inflight: set[tuple[str, int]] = set()
        self._workers = 0
        self._closed = False
        self._memory: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._failed: set[str] = set()
        self._loaded.connect(self._on_loaded)

    # --- GUI thread ----------------------------------------------------------------------
    def pixmap(self, path: str, side: int) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None and a load is queued."""
        key = (path, side)
        pixmap = self._memory.get(key)
        if pixmap is not None:
            self._memory.move_to_end(key)
            return pixmap
        if path not in self._failed:
            self.request(path, side)
        return None

    def failed(self, path: str) -> bool:
        return path in self._failed

    def request(self, path: str, side: int) -> None:
        if self._closed:
            return
        key = (path, side)
        with self._lock:
            if key in self._inflight:
                return
            self._queue[key] = None
            self._queue.move_to_end(key)
            while len(self._queue) > MAX_QUEUED:
                self._queue.popitem(last=False)
            start = self._workers < self._threads
            if start:
                self._workers += 1
        if start:
            self._runner.run(self.work)

    @property
    def idle(self) -> bool:
        """Nothing queued or being decoded."""
        with self._lock:
            return not self._queue and not self._inflight and self._workers == 0

    def clear_memory(self) -> None:
        self._memory.clear()
        self._failed.clear()

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            self._queue.clear()
        self._runner.shutdown()

    def _on_loaded(self, path: str, side: int, image: QImage) -> None:
        if self._closed:
            return
        if image.isNull():
            self._failed.add(path)
        else:
            self._memory[(path, side)] = QPixmap.fromImage(image)
            while len(self._memory) > MEMORY_ITEMS:
                self._memory.popitem(last=False)
        self.ready.emit(path, side)

    # --- workers -------------------------------------------------------------------------
    def work(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    self._workers -= 1
                    return
                key, _ = self._queue.popitem(last=True)  # newest request first
                self._inflight.add(key)
            path, side = key
            try:
                image = self.cache.load(path)
                if not image.isNull():
                    image = square_crop(image, side)
            except Exception:
                log.exception("thumbnail of %s failed", path)
                image = QImage()
            with self._lock:
                self._inflight.discard(key)
            if not self._closed:
                self._loaded.emit(path, side, image)
