"""Pass two of indexing: embed pending photos through a bounded pipeline.

    decode pool (threads, Pillow releases the GIL)  ->  batched inference (this thread)
        ->  batched commits (the writer thread)

Each photo is read once: the bytes are hashed (for move detection) and decoded from memory at
reduced size. At most ``lookahead`` decoded photos and two uncommitted batches exist at a time, so
memory stays flat however large the library. A photo that fails to decode is recorded with its
error and the run goes on. A run killed at any moment loses at most the uncommitted batches; the
next run resumes from the photos still pending.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.scanner import bytes_hash
from photosearch.core.indexing.semantic_sync import use_semantic_space
from photosearch.core.indexing.sync import sync_folders
from photosearch.core.library.db import Database
from photosearch.core.library.embeddings import (
    Embedded,
    has_pending,
    pending_photos,
    still_pending,
    use_visual_model,
    write_embeddings,
    write_errors,
)
from photosearch.core.library.locks import IndexingLock
from photosearch.core.library.store import Library
from photosearch.core.library.vectors import top_classes
from photosearch.core.vision.imageio import ImageLoadError, open_image_with_info, read_photo_file

log = logging.getLogger(__name__)


class SemanticEmbedder(Protocol):
    """Maps a photo into the word space (see photosearch.core.text)."""

    space_id: str
    dim: int

    def embed(
        self, features: np.ndarray, top_ids: np.ndarray, top_probs: np.ndarray
    ) -> np.ndarray: ...


class Encoder(Protocol):
    model_id: str
    vector_dim: int
    preprocess: Any

    def encode_arrays(self, batch: np.ndarray) -> Any: ...


@dataclass
class Progress:
    phase: str  # "wait" (for another process's indexer) | "scan" | "embed" | "done"
    done: int
    total: int
    errors: int = 0
    rate: float = 0.0  # photos per second over the run so far
    eta_s: float | None = None
    path: str = ""
    pid: int | None = None  # "wait": the process that is indexing, when known


def waiting_message(pid: int | None) -> str:
    """What a run says while another process indexes the same library."""
    holder = f" (pid {pid})" if pid else ""
    return f"another photosearch process is indexing this library{holder}; waiting for it to finish"


@dataclass
class _Decoded:
    photo_id: int
    path: str
    array: np.ndarray | None
    error: str | None = None
    size: int = 0
    mtime: float = 0.0
    ctime: float | None = None
    inode: int | None = None
    content_hash: str = ""
    width: int = 0
    height: int = 0
    taken_at: float | None = None
    camera: str | None = None

    def embedded(
        self, vector: np.ndarray, top_ids: np.ndarray, top_probs: np.ndarray, semantic: Any
    ) -> Embedded:
        """This photo's result, with what the encoder made of it."""
        return Embedded(
            self.photo_id,
            self.size,
            self.mtime,
            self.content_hash,
            self.width,
            self.height,
            self.taken_at,
            self.camera,
            vector,
            top_ids,
            top_probs,
            semantic,
            self.ctime,
            self.inode,
        )


class Controls:
    """Pause / resume / stop for a running index, safe to use from any thread."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_stopped(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a stop; True once stopped."""
        return self._stop.wait(timeout)

    def wait_if_paused(self) -> None:
        self._running.wait()


def read_and_decode(photo_id: int, path: str, preprocess: Any) -> _Decoded:
    """Read one file once: stat, hash and decode it. Never raises; errors are returned."""
    try:
        data, st = read_photo_file(path)
    except ImageLoadError as exc:
        return _Decoded(photo_id, path, None, str(exc).replace(f": {path}", ""))
    decoded = _Decoded(
        photo_id,
        path,
        None,
        size=st.st_size,
        mtime=st.st_mtime,
        ctime=st.st_ctime,
        inode=st.st_ino,
        content_hash=bytes_hash(data),
    )
    try:
        image, info = open_image_with_info(io.BytesIO(data), preprocess.decode_side, name=path)
        decoded.array = preprocess(_trim_sliver(image, preprocess))
    except ImageLoadError as exc:
        decoded.error = str(exc).replace(f": {path}", "")
        return decoded
    except Exception as exc:  # a Pillow plugin bug must not stop the library
        log.exception("unexpected failure decoding %s", path)
        decoded.error = f"cannot decode: {exc}"
        return decoded
    decoded.width, decoded.height = info.width, info.height
    decoded.taken_at, decoded.camera = info.taken_at, info.camera
    return decoded


MAX_ASPECT = 16


def _trim_sliver(image: Any, preprocess: Any) -> Any:
    """Crop a sliver (e.g. 60000x1) to its middle before a centre-cropping preprocess.

    Such a preprocess scales the short side up to the network's size and keeps only the middle
    square, so a 60000x1 image would first be resized to ~2,000,000x37 pixels (hundreds of MB);
    beyond ``MAX_ASPECT`` the cut-off ends are never seen by the model anyway.
    """
    if getattr(preprocess, "crop", None) != "center":
        return image
    width, height = image.size
    limit = min(width, height) * MAX_ASPECT
    if width > limit:
        left = (width - limit) // 2
        return image.crop((left, 0, left + limit, height))
    if height > limit:
        top = (height - limit) // 2
        return image.crop((0, top, width, top + limit))
    return image


def default_decode_workers() -> int:
    """One per core. With fast inference (OpenVINO, a GPU) decoding is the bottleneck and needs
    every core; with slow inference the workers just wait on the bounded look-ahead."""
    return max(1, min(32, (os.cpu_count() or 2)))


@dataclass
class _Tally:
    """How far an embedding pass is, told to ``on_progress`` as a :class:`Progress`."""

    total: int
    on_progress: Callable[[Progress], None] | None
    done: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)

    def report(self, phase: str, path: str = "") -> None:
        if self.on_progress is None:
            return
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        if phase == "done":
            self.on_progress(Progress("done", self.done, self.total, self.errors, rate))
            return
        eta = (self.total - self.done) / rate if rate > 0 else None
        self.on_progress(Progress("embed", self.done, self.total, self.errors, rate, eta, path))


class Indexer:
    """Brings a library in sync with its folders and embeds what is pending."""

    def __init__(
        self,
        library: Library,
        encoder: Encoder,
        semantic: SemanticEmbedder | None = None,
        batch_size: int = 32,
        decode_workers: int | None = None,
        controls: Controls | None = None,
    ) -> None:
        self.library = library
        self.encoder = encoder
        self.semantic = semantic
        self.batch_size = batch_size
        self.decode_workers = decode_workers or default_decode_workers()
        self.controls = controls or Controls()
        self._prepared = False
        self._indexing_lock = IndexingLock(library.path)

    # --- one indexer per library ---------------------------------------------------------
    def _lock(self, on_progress: Callable[[Progress], None] | None) -> bool:
        """Take the library's indexing lock, waiting while another process holds it (its
        photos would otherwise be embedded twice); False when stopped while waiting."""

        def on_wait(pid: int | None) -> None:
            log.info("%s", waiting_message(pid))
            if on_progress is not None:
                on_progress(Progress("wait", 0, 0, pid=pid))

        return self._indexing_lock.acquire(on_wait, self.controls.wait_stopped)

    # --- setup ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the vector tables for this model / word space; stale vectors mean re-embedding."""
        if self._prepared:
            return
        encoder, semantic = self.encoder, self.semantic

        self.library.write(lambda db: use_visual_model(db, encoder.model_id, encoder.vector_dim))
        if semantic is not None:
            use_semantic_space(self.library, semantic)
        self._prepared = True

    # --- the two passes ------------------------------------------------------------------
    def run(
        self,
        folders: Sequence[Any] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Changes:
        """Sync the folders (all by default), then embed what is pending, under the indexing
        lock; what changed, with the run's duration in ``seconds``."""
        started = time.monotonic()
        if not self._lock(on_progress):
            return Changes("index", seconds=time.monotonic() - started)
        try:
            self.prepare()
            if on_progress:
                on_progress(Progress("scan", 0, 0))
            summary = sync_folders(
                self.library,
                list(folders) if folders is not None else None,
                self.encoder.model_id,
                (lambda n: on_progress(Progress("scan", n, 0))) if on_progress else None,
            )
            summary.merge(self.embed_pending(on_progress))
        finally:
            self._indexing_lock.release()
        summary.reason = "index"
        summary.seconds = time.monotonic() - started
        return summary

    def pending(self) -> list[tuple[int, str]]:
        """(id, path) of the photos waiting to be embedded."""
        return pending_photos(self.library.reader())

    def has_pending(self) -> bool:
        return has_pending(self.library.reader())

    def embed_pending(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        on_commit: Callable[[Changes], None] | None = None,
    ) -> Changes:
        """Embed every pending photo; returns the ids embedded and failed. ``on_commit`` gets
        each committed batch's (on the writer thread: it must return quickly)."""
        result = Changes("embed")

        def committed(batch: Changes) -> None:
            result.merge(batch)
            if on_commit is not None:
                on_commit(batch)

        if not self._lock(on_progress):
            return result
        try:
            self._embed_pending(on_progress, committed)
        finally:
            self._indexing_lock.release()
        result.seq = self.library.seq()
        return result

    def _embed_pending(
        self,
        on_progress: Callable[[Progress], None] | None,
        on_commit: Callable[[Changes], None],
    ) -> None:
        """Embed the pending photos: decode ahead on the pool, encode in batches on this
        thread, and let at most two batches wait on the writer."""
        self.prepare()
        todo = self.pending()
        tally = _Tally(len(todo), on_progress)
        if not todo:
            tally.report("done")
            return
        commits: deque[Future[Any]] = deque()
        batch: list[_Decoded] = []
        failed: list[tuple[int, str]] = []

        def commit() -> None:
            nonlocal batch, failed  # new lists: the writer still holds the ones committed
            commits.append(self._commit_batch(batch, failed, on_commit))
            tally.done += len(batch)
            batch, failed = [], []

        with (
            ThreadPoolExecutor(
                self.decode_workers, thread_name_prefix="photosearch-decode"
            ) as pool,
            contextlib.closing(self._decode_ahead(todo, pool)) as decoded_photos,
        ):
            for decoded in decoded_photos:
                if self.controls.stopped:
                    break
                self.controls.wait_if_paused()
                if decoded.array is None:
                    failed.append((decoded.photo_id, decoded.error or "cannot decode"))
                    tally.errors += 1
                    tally.done += 1
                else:
                    batch.append(decoded)
                if len(batch) >= self.batch_size or len(failed) >= self.batch_size:
                    commit()
                    while len(commits) > 2:
                        commits.popleft().result()
                    tally.report("embed", decoded.path)
        if self.controls.stopped:
            batch = []  # unencoded work stays pending for next time
        if batch or failed:
            commit()
        for pending_commit in commits:
            pending_commit.result()
        tally.report("embed")
        tally.report("done")

    def _decode_ahead(
        self, todo: Sequence[tuple[int, str]], pool: ThreadPoolExecutor
    ) -> Generator[_Decoded, None, None]:
        """The photos of ``todo`` read and decoded, in order, with a bounded number of reads in
        flight on ``pool`` (enough to keep its threads busy while a batch is encoded). Closing
        the iterator cancels the reads not started."""
        lookahead = max(self.batch_size * 2, self.decode_workers * 4)
        preprocess = self.encoder.preprocess
        items = iter(todo)
        inflight: deque[Future[_Decoded]] = deque()

        def refill() -> None:
            while len(inflight) < lookahead and (item := next(items, None)) is not None:
                inflight.append(pool.submit(read_and_decode, item[0], item[1], preprocess))

        try:
            refill()
            while inflight:
                decoded = inflight.popleft().result()
                refill()
                yield decoded
        finally:
            for future in inflight:
                future.cancel()

    def _commit_batch(
        self,
        batch: list[_Decoded],
        failed: list[tuple[int, str]],
        on_commit: Callable[[Changes], None],
    ) -> Future[Any]:
        """Encode ``batch`` here, then hand the results to the writer without waiting."""
        rows = self._encode(batch)
        model_id = self.encoder.model_id
        failed = list(failed)

        def commit(db: Database) -> None:
            with db.transaction():
                # A photo may have changed or vanished while it was being encoded: only photos
                # still pending are written.
                still = still_pending(db, [r.photo_id for r in rows] + [f[0] for f in failed])
                written = [r for r in rows if r.photo_id in still]
                errors = [f for f in failed if f[0] in still]
                write_embeddings(db, model_id, written)
                write_errors(db, errors)
            on_commit(
                Changes(
                    "embed",
                    embedded_ids=[r.photo_id for r in written],
                    error_ids=[photo_id for photo_id, _ in errors],
                )
            )

        return self.library.writer.submit(commit)

    def _encode(self, batch: list[_Decoded]) -> list[Embedded]:
        """The batch's visual vectors, top classes and word-space vectors."""
        if not batch:
            return []
        encoding = self.encoder.encode_arrays(
            np.stack([d.array for d in batch if d.array is not None])
        )
        top_ids, top_probs = top_classes(encoding.probs)
        semantic = (
            self.semantic.embed(encoding.vectors, top_ids, top_probs)
            if self.semantic is not None
            else None
        )
        return [
            d.embedded(
                encoding.vectors[i],
                top_ids[i],
                top_probs[i],
                None if semantic is None else semantic[i],
            )
            for i, d in enumerate(batch)
        ]
