"""The look: Fusion with a calm light palette, one accent colour, and the app icon."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from photosearch.core.resources import resources_dir
from photosearch.gui.qt import QApplication, QColor, QIcon, QPalette

ACCENT = "#2f6fde"
ACCENT_DARK = "#2359b8"
SIDEBAR_BG = "#f2f3f5"
GRID_BG = "#ffffff"
TEXT = "#1f2328"
MUTED = "#656d76"
BORDER = "#dfe2e6"
PLACEHOLDER = "#eceef1"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {GRID_BG}; }}
#sidebar {{ background: {SIDEBAR_BG}; border-right: 1px solid {BORDER}; }}
#sidebarTitle {{ color: {MUTED}; font-size: 11px; font-weight: 600; letter-spacing: 0.5px; }}
#folderList {{ background: transparent; border: none; outline: 0; }}
#folderList::item {{ border-radius: 6px; margin: 1px 0; }}
#folderList::item:selected {{ background: #e1e6ef; }}
#folderList::item:hover:!selected {{ background: #e9ebef; }}
#folderName {{ color: {TEXT}; font-weight: 600; }}
#folderDetail {{ color: {MUTED}; font-size: 11px; }}
#wordName {{ color: {TEXT}; }}
#taughtNote, #feedbackNote {{ color: {MUTED}; }}
QToolButton#linkAction {{ border: none; color: {ACCENT}; padding: 0 2px; }}
QToolButton#linkAction:hover {{ text-decoration: underline; }}
QToolButton#feedbackButton {{
    border: 1px solid {BORDER}; border-radius: 6px; padding: 2px 10px; background: white;
}}
QToolButton#feedbackButton:hover {{ background: #f3f4f6; }}
QToolButton#feedbackButton:disabled {{ color: #8c959f; }}
#folderBadgeWarn {{ color: #b35900; font-size: 11px; }}
#searchField {{
    border: 1px solid {BORDER}; border-radius: 9px; padding: 7px 10px;
    background: #f6f7f9; font-size: 14px; selection-background-color: {ACCENT};
}}
#searchField:focus {{ border: 1px solid {ACCENT}; background: white; }}
#searchBar {{ background: {GRID_BG}; border-bottom: 1px solid {BORDER}; }}
#queryChip {{
    background: #e6eefc; border: 1px solid #c5d6f6; border-radius: 8px; padding: 2px 4px;
}}
#queryChip QLabel {{ color: {TEXT}; }}
#chipClose {{ border: none; background: transparent; color: {MUTED}; font-weight: 700; }}
#chipClose:hover {{ color: {TEXT}; }}
#resultsTitle {{ color: {TEXT}; font-size: 15px; font-weight: 600; }}
#resultsDetail {{ color: {MUTED}; }}
#queryNote {{ color: #8a5300; }}
QPushButton#weakerButton {{
    background: white; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 15px;
    padding: 6px 18px;
}}
QPushButton#weakerButton:hover {{ background: #f3f4f6; }}
QPushButton#weakerButton:focus {{ border: 1px solid {ACCENT}; }}
#photoGrid {{ background: {GRID_BG}; border: none; }}
#emptyTitle {{ color: {TEXT}; font-size: 18px; font-weight: 600; }}
#emptyBody {{ color: {MUTED}; font-size: 13px; }}
QPushButton#primaryButton {{
    background: {ACCENT}; color: white; border: none; border-radius: 7px;
    padding: 8px 18px; font-weight: 600;
}}
QPushButton#primaryButton:hover {{ background: {ACCENT_DARK}; }}
QPushButton#secondaryButton, QToolButton#secondaryButton {{
    background: white; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 7px;
    padding: 5px 12px;
}}
QPushButton#secondaryButton:hover, QToolButton#secondaryButton:hover {{ background: #f3f4f6; }}
QToolButton#linkButton {{ border: none; color: #b35900; padding: 0 6px; }}
QToolButton#linkButton:hover {{ text-decoration: underline; }}
QToolButton#clearFilters {{ border: none; color: {ACCENT}; padding: 0 6px; }}
QToolButton#clearFilters:hover {{ text-decoration: underline; }}
QToolButton#flatButton {{ border: none; border-radius: 6px; padding: 4px; }}
QToolButton#flatButton:hover {{ background: #e6e8ec; }}
QStatusBar {{ background: {SIDEBAR_BG}; border-top: 1px solid {BORDER}; color: {MUTED}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0 4px; }}
QProgressBar {{
    border: none; background: #dde1e6; border-radius: 3px; max-height: 6px; min-width: 140px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
#previewImage {{ background: #16181b; }}
#previewName {{ color: {TEXT}; font-size: 16px; font-weight: 600; }}
#previewKey {{ color: {MUTED}; }}
#previewValue {{ color: {TEXT}; }}
#tag {{
    background: #eef1f5; color: {TEXT}; border-radius: 10px; padding: 3px 9px; font-size: 12px;
}}
#sectionTitle {{ color: {MUTED}; font-size: 11px; font-weight: 600; letter-spacing: 0.5px; }}
QSplitter::handle {{ background: {BORDER}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle {{ background: #c4c9d0; border-radius: 3px; min-height: 32px; min-width: 32px; }}
QScrollBar::handle:hover {{ background: #a8aeb6; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
QMenu {{ padding: 4px; }}
QMenu::item {{ padding: 5px 22px 5px 12px; border-radius: 4px; }}
QMenu::item:selected {{ background: {ACCENT}; color: white; }}
"""


def icons_dir() -> Path | None:
    path = resources_dir() / "icons"
    return path if path.is_dir() else None


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    """The app icon from resources/icons (SVG plus the hicolor PNG sizes), or an empty icon."""
    icon = QIcon()
    folder = icons_dir()
    if folder is None:
        return icon
    for png in sorted((folder / "hicolor").glob("*/apps/*.png")):
        icon.addFile(str(png))
    svg = folder / "photosearch.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(GRID_BG))
    palette.setColor(QPalette.ColorRole.Base, QColor(GRID_BG))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(SIDEBAR_BG))
    palette.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    palette.setColor(QPalette.ColorRole.Button, QColor("#f6f7f9"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("white"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8c959f"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
