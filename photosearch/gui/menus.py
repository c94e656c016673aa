"""The main window's menu bar: File, Edit, Photos, Tools, Help. Each item calls a slot the window
hands over; the Photos menu holds the grid's photo actions (:mod:`photosearch.gui.photo_actions`),
so the menu and the grid share their shortcuts and enabled state."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from photosearch import __version__
from photosearch.gui.context import AppContext
from photosearch.gui.photo_actions import PhotoActions
from photosearch.gui.qt import QAction, QKeySequence, QMenu, QMenuBar

Slot = Callable[[], object]


def add_action(
    menu: QMenu, text: str, slot: Slot, shortcut: str | QKeySequence.StandardKey | None = None
) -> QAction:
    action = menu.addAction(text)
    action.triggered.connect(slot)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    return action


class Menus:
    """Builds the menus on ``bar``; keeps the actions a caller triggers by name (tests do)."""

    def __init__(
        self,
        bar: QMenuBar,
        photos: PhotoActions,
        *,
        add_folder: Slot,
        rescan: Slot,
        settings: Slot,
        quit_app: Slot,
        find: Slot,
        clear_search: Slot,
        duplicates: Slot,
        about: Slot,
    ) -> None:
        file_menu = bar.addMenu("&File")
        self.add_folder = add_action(file_menu, "&Add Folder…", add_folder, "Ctrl+O")
        self.rescan = add_action(file_menu, "&Rescan Folders", rescan, "F5")
        file_menu.addSeparator()
        preferences = QKeySequence.StandardKey.Preferences
        self.settings = add_action(file_menu, "&Settings…", settings, preferences)
        file_menu.addSeparator()
        self.quit = add_action(file_menu, "&Quit", quit_app, QKeySequence.StandardKey.Quit)
        edit_menu = bar.addMenu("&Edit")
        self.find = add_action(edit_menu, "&Find", find, "Ctrl+F")
        self.clear_search = add_action(edit_menu, "&Clear Search", clear_search)
        photos_menu = bar.addMenu("&Photos")
        photos_menu.addActions(photos.selection_actions())
        photos_menu.addSeparator()
        photos_menu.addActions(photos.mark_actions())
        photos_menu.addActions([photos.refine, photos.save_word, photos.clear_marks])
        tools = bar.addMenu("&Tools")
        self.duplicates = add_action(tools, "Find &Duplicates…", duplicates)
        help_menu = bar.addMenu("&Help")
        self.about = add_action(help_menu, "&About photosearch", about)


def about_text(ctx: AppContext) -> str:
    """Help → About: the version, and what runs the image model on which library."""
    return (
        f"<b>photosearch {__version__}</b><br>An offline photo library with semantic "
        "search. Your photos never leave this computer.<br><br>"
        f"Image model: {escape(ctx.models.describe())}<br>"
        f"Library: {escape(str(ctx.library.path))}"
    )
