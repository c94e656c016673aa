"""Where the GUI's errors go: a user error to the status bar, a bug to the log and a dialog.

:class:`ErrorReporter` sorts by class only (:class:`~photosearch.core.errors.UserError` or
not, see :mod:`photosearch.core.errors`). It may be called from any thread: it only emits
signals, which Qt queues to the GUI thread. The task runner reports the failures of jobs that
have no failure callback of their own, and :meth:`ErrorReporter.install` makes it the
``sys.excepthook`` and ``threading.excepthook`` for everything uncaught.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from photosearch.core.errors import UserError
from photosearch.gui.qt import QMessageBox, QObject, QWidget, Signal

log = logging.getLogger(__name__)

# What the user can act on: the core's user errors, and the environment's (a full disk, a folder
# that cannot be read). Anything else is a bug.
USER_FACING: tuple[type[BaseException], ...] = (UserError, OSError)


def plain(exc: BaseException) -> str:
    """An error's message as a sentence for the window."""
    text = str(exc) or "something went wrong"
    return text[:1].upper() + text[1:]


class ErrorReporter(QObject):
    user_message = Signal(str)  # a sentence for the status bar
    bug = Signal(str, str)  # summary, traceback: for the log and an error dialog

    def report(self, exc: BaseException, doing: str = "") -> None:
        """Route ``exc``; ``doing`` names what failed ("Cannot add /photos")."""
        if isinstance(exc, USER_FACING):
            log.warning("%s%s", f"{doing}: " if doing else "", exc)
            self.user_message.emit(f"{doing}: {exc}" if doing else plain(exc))
            return
        log.error("%s", doing or "unexpected error", exc_info=exc)
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.bug.emit(f"{doing}: {plain(exc)}" if doing else plain(exc), details)

    # --- uncaught exceptions -------------------------------------------------------------------
    def install(self) -> None:
        """Report uncaught exceptions of the GUI thread and of any other thread."""
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        if sys.excepthook == self._excepthook:
            sys.excepthook = sys.__excepthook__
        if threading.excepthook == self._thread_excepthook:
            threading.excepthook = threading.__excepthook__

    def _excepthook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        self.report(exc.with_traceback(tb))

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a worker"
        self.report(args.exc_value, f"Unexpected error in {name}")


class BugDialog:
    """Shows a bug's summary with its traceback as details; one dialog at a time (a burst of
    failures logs them all but opens one box)."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.box: QMessageBox | None = None

    def show(self, summary: str, details: str) -> None:
        if self.box is not None and self.box.isVisible():
            return
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "photosearch",
            "Something went wrong. The details are in the log.",
            QMessageBox.StandardButton.Close,
            self.parent,
        )
        box.setInformativeText(summary)
        box.setDetailedText(details)
        self.box = box
        box.open()
