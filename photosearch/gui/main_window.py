"""The main window: builds the panels and connects their signals. No logic of its own beyond
wiring; each panel is its own class, each piece of work runs on a worker."""

from __future__ import annotations

import logging
import os

from photosearch.core.library.rows import Folder
from photosearch.gui import actions, drops, search_service
from photosearch.gui.context import AppContext
from photosearch.gui.controller import SearchController
from photosearch.gui.empty_state import Empty
from photosearch.gui.errors import BugDialog
from photosearch.gui.filter_bar import FilterBar
from photosearch.gui.menus import Menus, about_text
from photosearch.gui.preview import PreviewDialog
from photosearch.gui.qt import (
    QCloseEvent,
    QDialog,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QEvent,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    Qt,
    QTimer,
    QWidget,
)
from photosearch.gui.results_view import ResultsPanel
from photosearch.gui.search_bar import SearchBar
from photosearch.gui.settings_dialog import SettingsDialog
from photosearch.gui.sidebar import FolderInfo, Sidebar
from photosearch.gui.status_bar import ErrorsDialog, StatusBar
from photosearch.gui.style import app_icon
from photosearch.gui.widgets import confirm, vbox
from photosearch.gui.words_controller import WordsController

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("photosearch")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._preview: PreviewDialog | None = None
        self._settings_dialog: SettingsDialog | None = None
        self._bug_dialog = BugDialog(self)
        self._duplicates: QDialog | None = None
        self._closed = False

        self.sidebar = Sidebar(self)
        self.search_bar = SearchBar(ctx.thumbnails, self)
        self.results = ResultsPanel(ctx.thumbnails, ctx.settings.thumbnail_size, self)
        self.filter_bar = FilterBar(ctx.settings.sort, self)
        self.results.add_header_widget(self.filter_bar)
        self.status = StatusBar(self)
        self.controller = SearchController(ctx, self)
        self.words = WordsController(ctx, self)
        self.controller.sort = self.filter_bar.sort
        self._cameras_running = self._cameras_dirty = False
        self.setStatusBar(self.status)

        right = QWidget(self)
        vbox(right, (0, 0, 0, 0), 0, self.search_bar, (self.results, 1))
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 1030])
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.menus = Menus(
            self.menuBar(),
            self.results.photo_actions,
            add_folder=self.choose_folder,
            rescan=ctx.indexing.start,
            settings=self.show_settings,
            quit_app=self.close,
            find=self.search_bar.focus,
            clear_search=self.search_bar.clear,
            duplicates=self.show_duplicates,
            about=lambda: QMessageBox.about(self, "About photosearch", about_text(ctx)),
        )
        self._connect()
        self._restore_state()

    # --- wiring -------------------------------------------------------------------------------
    def _connect(self) -> None:
        ctx, results, status, controller = self.ctx, self.results, self.status, self.controller
        self.search_bar.query_changed.connect(controller.set_query)
        self.search_bar.settings_requested.connect(self.show_settings)
        controller.results_ready.connect(results.show_results)
        controller.empty.connect(results.show_empty)
        controller.busy.connect(status.show_busy)
        controller.new_view.connect(results.start_new_view)
        controller.notes.connect(results.show_notes)
        results.weaker_requested.connect(controller.show_weaker)
        controller.results_ready.connect(lambda *_args: self.filter_bar.show())
        controller.empty.connect(self._empty_shown)
        self.filter_bar.filters_changed.connect(self._filters_changed)
        self.filter_bar.sort_changed.connect(self._sort_changed)

        self._connect_photo_requests(results)
        results.copy_path_requested.connect(self.copy_path)
        results.preview_requested.connect(self.show_preview)
        results.empty_action.connect(self._empty_action)
        results.grid.escape_pressed.connect(self.search_bar.clear)

        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.confirm_remove_folder)
        self.sidebar.show_requested.connect(actions.show_in_folder)
        self.sidebar.folder_selected.connect(self.controller.set_folder)
        self.sidebar.reindex_requested.connect(ctx.indexing.start)
        self._connect_words()

        ctx.indexing.changed.connect(self._library_changed)
        ctx.models.state_changed.connect(status.set_model_state)
        ctx.indexing.started.connect(self.refresh_sidebar)
        ctx.indexing.progress.connect(status.show_progress)
        ctx.indexing.finished.connect(self._indexing_finished)
        ctx.indexing.failed.connect(lambda msg: status.set_message(f"Indexing stopped: {msg}"))
        ctx.damage_found.connect(status.show_damage)
        ctx.indexing.paused_changed.connect(status.set_paused)
        status.pause_clicked.connect(ctx.indexing.pause)
        status.resume_clicked.connect(ctx.indexing.resume)
        status.errors_clicked.connect(self.show_errors)
        ctx.errors.user_message.connect(status.set_message)
        ctx.errors.bug.connect(self._bug_dialog.show)

    def _connect_words(self) -> None:
        """Taught words and feedback on results."""
        words, results, controller, section = (
            self.words,
            self.results,
            self.controller,
            self.sidebar.words,
        )
        results.teach_requested.connect(words.ask_teach)
        results.improve_requested.connect(words.improve)
        results.save_word_requested.connect(
            lambda marks: words.ask_save(marks, controller.feedback_state_query())
        )
        results.more_like_requested.connect(controller.more_like_these)
        results.mark_requested.connect(controller.mark)
        results.refine_requested.connect(controller.refine)
        results.clear_marks_requested.connect(controller.clear_marks)
        controller.feedback_changed.connect(results.show_feedback)
        controller.taught.connect(results.show_taught)
        words.words_changed.connect(section.set_words)
        words.message.connect(self.status.set_message)
        words.changed.connect(controller.refresh)
        words.replaced.connect(self._word_replaced)
        section.word_picked.connect(self.search_bar.set_text)
        section.rename_requested.connect(words.ask_rename)
        section.delete_requested.connect(words.confirm_delete)
        self.search_bar.query_changed.connect(lambda text, _image: section.show_query(text))

    def _connect_photo_requests(self, view: ResultsPanel | PreviewDialog) -> None:
        """What the grid and the preview ask of a photo: open it, show its folder, find similar."""
        view.open_requested.connect(actions.open_file)
        view.show_in_folder_requested.connect(actions.show_in_folder)
        view.similar_requested.connect(self.find_similar)

    def _word_replaced(self, old: str, new: str) -> None:
        """A renamed word's photos stay shown under the new name; a deleted word's go."""
        if " ".join(self.search_bar.text.lower().split()) != old:
            return
        if new:
            self.search_bar.set_text(new)
        else:
            self.search_bar.clear()

    def start_when_painted(self) -> None:
        """Start background work once the window has painted: the model's import (torch) then
        never competes with the first paint."""
        self._start_pending = True

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and getattr(self, "_start_pending", False):
            self._start_pending = False
            QTimer.singleShot(0, self.start)
        return super().event(event)

    def start(self) -> None:
        """Show the library and start background work (call after ``show()``)."""
        self.controller.run()
        self.refresh_sidebar()
        self.words.refresh()
        self.refresh_cameras()
        self.ctx.start()

    # --- library changes --------------------------------------------------------------------
    def _library_changed(self, _changes: object = None) -> None:
        self.controller.refresh()
        self.refresh_sidebar()
        self.words.refresh()  # another process (the CLI) may have taught a word
        self.refresh_cameras()

    def _indexing_finished(self, _summary: object) -> None:
        self.status.indexing_finished()
        self.refresh_sidebar()
        self.refresh_cameras()
        self.controller.refresh()

    def refresh_sidebar(self) -> None:
        library = self.ctx.library

        def job() -> tuple[list[Folder], dict[int, dict[str, int]]]:
            return library.folders(), library.folder_counts()

        self.ctx.io_runner.run(job, self._show_folders)

    def _show_folders(self, value: tuple[list[Folder], dict[int, dict[str, int]]]) -> None:
        folders, counts = value
        running = self.ctx.indexing.running
        infos = [FolderInfo(f.path, f.online, counts.get(f.id, {}), running) for f in folders]
        self.sidebar.set_folders(infos)
        self.status.set_error_count(sum(i.counts.get("error", 0) for i in infos))

    # --- filters and sorting -------------------------------------------------------------------
    def refresh_cameras(self) -> None:
        """Re-read the library's cameras for the filter row (one query in flight at a time)."""
        if self._cameras_running:
            self._cameras_dirty = True
            return
        self._cameras_running, self._cameras_dirty = True, False
        library = self.ctx.library

        def done(cameras: list[tuple[str, int]] | None) -> None:
            self._cameras_running = False
            if cameras is not None:
                self.filter_bar.set_cameras(cameras)
            if self._cameras_dirty:
                self.refresh_cameras()

        def failed(exc: BaseException) -> None:
            self.ctx.errors.report(exc, "Cannot read the cameras")
            done(None)

        self.ctx.io_runner.run(lambda: search_service.camera_counts(library), done, failed)

    def _filters_changed(self) -> None:
        self.controller.set_filters(self.filter_bar.filters(), self.filter_bar.describe())

    def _sort_changed(self, sort: str) -> None:
        self.ctx.settings.sort = sort
        self.controller.set_sort(sort)

    def _empty_shown(self, state: Empty, *_args: object) -> None:
        # Nothing to filter yet: no folders, or no photos indexed so far.
        self.filter_bar.setVisible(state.kind not in ("no-folders", "no-photos", "indexing"))

    def _empty_action(self, kind: str) -> None:
        if kind == "filtered":
            self.filter_bar.clear()
        else:
            self.choose_folder()

    # --- folders ------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Add a folder of photos", os.path.expanduser("~")
        )
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        library = self.ctx.library
        self.status.set_message(f"Adding {path}…")

        def added(_folder: object) -> None:
            self.status.set_message(f"Added {os.path.basename(path.rstrip(os.sep)) or path}")
            self.refresh_sidebar()
            self.controller.refresh()
            self.ctx.indexing.start()

        self.ctx.io_runner.run(
            lambda: library.add_folder(path),
            added,
            lambda exc: self.ctx.errors.report(exc, f"Cannot add {path}"),
        )

    def confirm_remove_folder(self, path: str) -> QMessageBox:
        return confirm(
            self,
            "Remove folder",
            f"Remove “{os.path.basename(path.rstrip(os.sep)) or path}” from the library?",
            "The photos stay on disk; only their index is forgotten.",
            "Remove",
            lambda: self.remove_folder(path),
        )

    def remove_folder(self, path: str) -> None:
        library = self.ctx.library

        def job() -> list[str]:
            library.remove_folder(path)
            return [f.path for f in library.folders()]

        def removed(folders: list[str]) -> None:
            self.refresh_sidebar()
            self.controller.refresh()
            if self._settings_dialog is not None:
                self._settings_dialog.set_folders(folders)

        self.ctx.io_runner.run(job, removed)

    # --- photos -------------------------------------------------------------------------------
    def find_similar(self, path: str) -> None:
        self.search_bar.field.clear()
        self.search_bar.set_image(path)

    def copy_path(self, path: str) -> None:
        actions.copy_path(path)
        self.status.set_message(f"Copied {path}")

    def preview(self) -> PreviewDialog:
        if self._preview is None:
            ctx = self.ctx
            self._preview = PreviewDialog(
                ctx.library, ctx.searcher, ctx.thumbnails, ctx.word_vectors, self, ctx.errors
            )
            self._connect_photo_requests(self._preview)
            self._preview.step_requested.connect(self._step_preview)
        return self._preview

    def show_preview(self, row: int) -> None:
        path = self.results.path_at(row)
        if not path:
            return
        dialog = self.preview()
        dialog.show_photo(path)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _step_preview(self, delta: int) -> None:
        row = self.results.grid.current_row() + delta
        if 0 <= row < self.results.model.rowCount():
            self.results.grid.setCurrentIndex(self.results.model.index(row))
            self.preview().show_photo(self.results.path_at(row))

    # --- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if drops.acceptable(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if drops.acceptable(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        drop = drops.interpret(event.mimeData())
        if not drop.useful:
            self.status.set_message(drop.problem)
            event.ignore()
            return
        event.acceptProposedAction()
        for folder in drop.folders:
            self.add_folder(folder)
        if drop.image:
            self.search_bar.set_image(drop.image)

    # --- dialogs ------------------------------------------------------------------------------
    def show_errors(self) -> None:
        self.ctx.io_runner.run(
            lambda: self.ctx.library.errors(), lambda photos: ErrorsDialog(photos, self).open()
        )

    def show_settings(self) -> None:
        """Open the settings once the folders are read (on the library worker)."""
        library = self.ctx.library
        self.ctx.io_runner.run(lambda: [f.path for f in library.folders()], self._open_settings)

    def _open_settings(self, folders: list[str]) -> None:
        if self._closed:
            return
        settings = self.ctx.settings
        dialog = SettingsDialog(settings, folders, self)
        self._settings_dialog = dialog
        dialog.add_folder_requested.connect(self.choose_folder)
        dialog.remove_folder_requested.connect(self.confirm_remove_folder)
        dialog.thumbnail_size_changed.connect(self.results.set_cell)

        def finished(result: int) -> None:
            self._settings_dialog = None
            if result != SettingsDialog.DialogCode.Accepted:
                self.results.set_cell(settings.thumbnail_size)
                return
            changed = dialog.save()
            self.results.set_cell(settings.thumbnail_size)
            if changed["word_vectors"]:
                self.ctx.indexing.start()  # re-places the photos in the new word space
            if changed["image_model"]:
                self.status.set_message(
                    f"{settings.image_model} is used from the next start; "
                    "the library is then re-indexed with it."
                )

        dialog.finished.connect(finished)
        dialog.open()

    def show_duplicates(self) -> None:
        if self._duplicates is not None and self._duplicates.isVisible():
            self._duplicates.raise_()  # one at a time: it reads the whole library
            return
        # lazy: the dialog's modules (pixel check, trash; ~20 ms) load when it is first opened
        from photosearch.gui.duplicates_view import DuplicatesDialog

        ctx = self.ctx
        dialog = DuplicatesDialog(
            ctx.library, self, runner=ctx.runner(1, "duplicates"), errors=ctx.errors
        )
        self._duplicates = dialog
        dialog.trashed.connect(lambda _paths: self._library_changed())
        dialog.show()

    # --- window state -------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.ctx.settings.window_state("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.ctx.settings.window_state("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def _save_state(self) -> None:
        self.ctx.settings.set_window_state("geometry", self.saveGeometry())
        self.ctx.settings.set_window_state("splitter", self.splitter.saveState())
        self.ctx.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save the window state, stop all workers and close the library (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._save_state()
        self.controller.stop()
        self.search_bar.stop()
        if self._preview is not None:
            self._preview.shutdown()
            self._preview.close()
        if self._duplicates is not None:
            self._duplicates.reject()  # cancels and waits for its work on the library
        self.ctx.shutdown()
