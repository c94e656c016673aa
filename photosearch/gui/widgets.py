"""Small builders the panels share: a flat tool button, a row or a column of widgets, a context
menu that deletes itself once closed, and the question before a destructive step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from photosearch.gui.qt import (
    QBoxLayout,
    QHBoxLayout,
    QLayout,
    QMenu,
    QMessageBox,
    QPoint,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    SignalInstance,
    named,
)

Slot = Callable[[], object] | SignalInstance
Margins = tuple[int, int, int, int]
Item = QWidget | QLayout | tuple[QWidget | QLayout, int]  # a widget or a layout [, its stretch]
_Box = TypeVar("_Box", bound=QBoxLayout)


def tool_button(
    name: str, text: str, on_click: Slot, tip: str = "", parent: QWidget | None = None
) -> QToolButton:
    """A flat button with a pointing-hand cursor; ``name`` is its style sheet's ``#name``."""
    button = named(QToolButton(parent), name)
    button.setText(text)
    if tip:
        button.setToolTip(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.clicked.connect(on_click)
    return button


def hbox(
    parent: QWidget | None, margins: Margins, spacing: int | None, *items: Item
) -> QHBoxLayout:
    """A row of ``items``, the layout of ``parent`` when one is given; spacing None: the style's."""
    return _filled(QHBoxLayout(), parent, margins, spacing, items)


def vbox(
    parent: QWidget | None, margins: Margins, spacing: int | None, *items: Item
) -> QVBoxLayout:
    """A column of ``items``, as :func:`hbox` makes a row."""
    return _filled(QVBoxLayout(), parent, margins, spacing, items)


def _filled(
    box: _Box,
    parent: QWidget | None,
    margins: Margins,
    spacing: int | None,
    items: tuple[Item, ...],
) -> _Box:
    if parent is not None:
        parent.setLayout(box)
    box.setContentsMargins(*margins)
    if spacing is not None:
        box.setSpacing(spacing)
    for item in items:
        thing, stretch = item if isinstance(item, tuple) else (item, 0)
        if isinstance(thing, QLayout):
            box.addLayout(thing, stretch)
        else:
            box.addWidget(thing, stretch)
    return box


def popup(menu: QMenu, pos: QPoint) -> None:
    """Show a context menu built for one click at ``pos`` (global); it is deleted once closed."""
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    menu.popup(pos)


def confirm(
    parent: QWidget, title: str, question: str, detail: str, verb: str, then: Callable[[], object]
) -> QMessageBox:
    """Ask ``question`` (window-modal, not blocking); ``then()`` runs if the user picks ``verb``,
    the destructive button next to Cancel."""
    box = QMessageBox(
        QMessageBox.Icon.Question, title, question, QMessageBox.StandardButton.Cancel, parent
    )
    box.setInformativeText(detail)
    button = box.addButton(verb, QMessageBox.ButtonRole.DestructiveRole)
    box.finished.connect(lambda _result: then() if box.clickedButton() is button else None)
    box.open()
    return box
