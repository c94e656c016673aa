"""``photosearch watch``: follow the library's folders and index photos as they change.

Watch every folder of the library (optionally adding DIRs first) and keep the index up to date as
photos are added, changed, moved or deleted, until interrupted (Ctrl+C / SIGTERM stop it cleanly).
Every {days} days it checks the whole database file for damage and stops, exit status 3, if it
finds any.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

from photosearch.cli import common
from photosearch.core.library.db import DatabaseError

log = logging.getLogger("photosearch.watch")


def register(sub: argparse._SubParsersAction) -> None:
    from photosearch.core.library.store import INTEGRITY_CHECK_DAYS

    doc = (__doc__ or "").format(days=INTEGRITY_CHECK_DAYS)
    p = common.add_command(sub, "watch", doc, run, "db", "model", "text")
    p.add_argument("folders", nargs="*", metavar="DIR", help="folders to add first (remembered)")
    p.add_argument(
        "--poll", action="store_true", help="watch the added folders by polling (network drives)"
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between polls of polled folders (default 10)",
    )
    p.add_argument(
        "--rescan-interval",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds between rescans of folders that cannot be watched (default 60)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="photos per inference batch")
    p.add_argument("--workers", type=int, default=None, help="decode threads")
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")


class _ProgressLog:
    """Embedding progress as a log line every few seconds (not a line per batch)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self._last = 0.0

    def __call__(self, progress: Any) -> None:
        if progress.phase != "embed":
            return  # "wait" (another process indexing) is logged by the indexer itself
        now = time.monotonic()
        if now - self._last >= self.every and progress.done < progress.total:
            self._last = now
            eta = f", about {progress.eta_s:.0f}s left" if progress.eta_s is not None else ""
            log.info(
                "embedding %d/%d (%.1f photos/s%s)",
                progress.done,
                progress.total,
                progress.rate,
                eta,
            )


def run(args: argparse.Namespace) -> int:
    """The app's background service (:class:`~photosearch.core.indexing.watcher.WatchService`),
    headless and without Qt, logging to stderr (INFO, or warnings only with ``-q``). Committed
    batches stay when it stops; unfinished photos stay pending for next time."""
    from photosearch.cli.index_cmd import semantic_embedder_from
    from photosearch.core.indexing.watcher import WatchService

    package_log = logging.getLogger("photosearch")
    if args.quiet:
        package_log.setLevel(logging.WARNING)
    elif package_log.getEffectiveLevel() > logging.INFO:
        package_log.setLevel(logging.INFO)
    common.check_folder_args(args)
    with common.open_library(args) as library:
        folders = common.add_folder_args(library, args, "watch")
        log.info("library %s, %d folder(s)", library.path, len(folders))

        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info("%s received: stopping…", signal.Signals(signum).name)
            stop.set()
            signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl+C forces

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        service = WatchService(
            library,
            lambda: common.load_encoder_from(args),
            lambda: semantic_embedder_from(args, library),
            on_progress=_ProgressLog(),
            on_state=lambda state: log.debug("state: %s", state),
            poll_interval=args.poll_interval,
            rescan_interval=args.rescan_interval,
            batch_size=args.batch_size,
            decode_workers=args.workers,
        )
        try:
            service.start()
            while not stop.wait(0.5):
                if not service.running:
                    break
        finally:
            service.stop(timeout=None)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if isinstance(service.error, DatabaseError):
            raise service.error  # exit status 3, with the repair hint when the file is damaged
        if service.error is not None:
            raise common.CommandError(f"watching stopped: {service.error}")
        counts = library.status_counts()
    log.info(
        "stopped cleanly: %d indexed, %d pending, %d errors",
        counts["indexed"],
        counts["pending"],
        counts["error"],
    )
    return 0
