"""The app's services, built once and passed to the window (no global app object).

Each resource has its own worker pool: searches (one thread, latest query wins), library reads
for the sidebar and status bar, thumbnails (a few threads), the model loader and the indexer.
Runners come from ``runner_factory`` (:class:`~photosearch.gui.tasks.TaskRunner`; a test may pass
:class:`~photosearch.gui.tasks.SyncRunner`) and report failures to ``errors``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from photosearch.core.errors import DatabaseCorruptError
from photosearch.core.library.store import REPAIR_HINT, Library
from photosearch.core.search.searcher import Searcher
from photosearch.gui import search_service
from photosearch.gui.errors import ErrorReporter
from photosearch.gui.indexing import IndexingService
from photosearch.gui.models import EncoderFactory, ModelService
from photosearch.gui.qt import QObject, QTimer, Signal
from photosearch.gui.settings import Settings
from photosearch.gui.tasks import TaskRunner
from photosearch.gui.thumbnails import ThumbnailCache, ThumbnailLoader

log = logging.getLogger(__name__)

INTEGRITY_POLL_MS = 3_600_000  # how often a running app asks whether a damage check is due


class _Default(enum.Enum):
    """The type of "argument not given" where None means something else (no semantic model)."""

    TOKEN = 0


_DEFAULT = _Default.TOKEN


class AppContext(QObject):
    damage_found = Signal(str)  # a message for the user: the library file is damaged

    def __init__(
        self,
        library: Library,
        settings: Settings | None = None,
        encoder_factory: EncoderFactory | None = None,
        semantic_factory: Callable[[], Any] | None | _Default = _DEFAULT,
        thumbnail_cache: ThumbnailCache | None = None,
        parent: QObject | None = None,
        runner_factory: type[TaskRunner] = TaskRunner,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings or Settings()
        self.errors = ErrorReporter(self)
        self.runner_factory = runner_factory
        self.models = ModelService(self.settings.image_model, encoder_factory, self)
        self.searcher = Searcher(library, encoder_factory=lambda: self.models.get())
        self.search_runner = self.runner(1, "search")
        self.io_runner = self.runner(1, "library-reads")
        self.thumbnails = ThumbnailLoader(thumbnail_cache, parent=self)
        if semantic_factory is _DEFAULT:
            semantic_factory = self._semantic_embedder
        self.indexing = IndexingService(
            library,
            self.models,
            semantic_factory,
            self,
        )
        # The periodic whole-file check has its own thread: it may read for seconds.
        self.check_runner = self.runner(1, "integrity-check")
        self._check_timer = QTimer(self, interval=INTEGRITY_POLL_MS)
        self._check_timer.timeout.connect(self.check_integrity)
        self._closed = False

    def runner(self, threads: int, name: str, parent: QObject | None = None) -> TaskRunner:
        """A new runner for one resource, reporting to ``errors``."""
        return self.runner_factory(threads, name, parent or self, errors=self.errors)

    @property
    def word_vectors(self) -> str:
        return self.settings.word_vectors

    def _semantic_embedder(self) -> Any:
        return search_service.semantic_embedder(self.settings.word_vectors, self.library)

    def start(self) -> None:
        """Begin background work: load the model, sync and follow the folders (the indexing
        service's ``changed`` signal says what changed)."""
        self.models.start()
        self.search_runner.run(lambda: search_service.warm_up(self.searcher))
        self.indexing.start()
        self.check_integrity()
        self._check_timer.start()

    def check_integrity(self) -> None:
        """Check the library file for damage when the last check is older than
        INTEGRITY_CHECK_DAYS; damage stops indexing (more writes could only make it worse) and
        is reported through ``damage_found``."""
        self.check_runner.run(self.library.check_integrity_if_due, on_failure=self._check_failed)

    def _check_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, DatabaseCorruptError):
            self.errors.report(exc, "Cannot check the library for damage")
            return
        log.error("%s", exc)
        self._check_timer.stop()
        self.indexing.stop()
        self.damage_found.emit(f"{exc}. {REPAIR_HINT.format(path=self.library.path)}")

    def shutdown(self) -> None:
        """Stop every worker and close the library; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._check_timer.stop()
        self.check_runner.shutdown()
        self.indexing.shutdown()
        self.search_runner.shutdown()
        self.io_runner.shutdown()
        self.thumbnails.shutdown()
        self.models.shutdown()
        self.library.close()
