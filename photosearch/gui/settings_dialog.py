"""The Settings dialog: word-vector file, image model, thumbnail size, watched folders."""

from __future__ import annotations

from photosearch.gui.qt import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.settings import THUMB_MAX, THUMB_MIN, Settings

# Mirrors photosearch.core.vision.encoder.available_models() without importing torch on the GUI thread.
KNOWN_MODELS = [
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "resnet50",
    "resnet18",
    "convnext_tiny",
    "efficientnet_b0",
    "mobilenet_v3_large",
]


class SettingsDialog(QDialog):
    add_folder_requested = Signal()
    remove_folder_requested = Signal(str)
    thumbnail_size_changed = Signal(int)  # live, while the slider moves

    def __init__(self, settings: Settings, folders: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.settings = settings

        self.word_vectors = QLineEdit(settings.word_vectors)
        self.word_vectors.setPlaceholderText("Shipped vectors (GloVe 50d)")
        browse = named(QPushButton("Choose…"), "secondaryButton")
        browse.clicked.connect(self._browse_vectors)
        vectors_row = QHBoxLayout()
        vectors_row.addWidget(self.word_vectors, 1)
        vectors_row.addWidget(browse)

        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(KNOWN_MODELS)
        self.model.setCurrentText(settings.image_model)

        self.thumb = QSlider(Qt.Orientation.Horizontal)
        self.thumb.setRange(THUMB_MIN, THUMB_MAX)
        self.thumb.setValue(settings.thumbnail_size)
        self.thumb_label = QLabel(f"{settings.thumbnail_size} px")
        self.thumb.valueChanged.connect(self._thumb_moved)
        thumb_row = QHBoxLayout()
        thumb_row.addWidget(self.thumb, 1)
        thumb_row.addWidget(self.thumb_label)

        self.folders = QListWidget()
        self.folders.addItems(folders)
        self.folders.setMaximumHeight(140)
        add = named(QPushButton("Add…"), "secondaryButton")
        add.clicked.connect(self.add_folder_requested)
        remove = named(QPushButton("Remove"), "secondaryButton")
        remove.clicked.connect(self._remove_folder)
        folder_buttons = QVBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(remove)
        folder_buttons.addStretch(1)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folders, 1)
        folder_row.addLayout(folder_buttons)

        form = QFormLayout()
        form.setVerticalSpacing(12)
        form.addRow("Word vectors", vectors_row)
        note = QLabel("A word2vec/GloVe file; photos are re-placed in the new word space.")
        note.setObjectName("previewKey")
        form.addRow("", note)
        form.addRow("Image model", self.model)
        model_note = QLabel("Changing the model re-indexes every photo.")
        model_note.setObjectName("previewKey")
        form.addRow("", model_note)
        form.addRow("Thumbnail size", thumb_row)
        form.addRow("Watched folders", folder_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 16)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(buttons)

    def set_folders(self, folders: list[str]) -> None:
        self.folders.clear()
        self.folders.addItems(folders)

    def _thumb_moved(self, value: int) -> None:
        self.thumb_label.setText(f"{value} px")
        self.thumbnail_size_changed.emit(value)

    def _browse_vectors(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Word-vector file",
            "",
            "Word vectors (*.txt *.vec *.bin *.npy *.kv);;All files (*)",
        )
        if path:
            self.word_vectors.setText(path)

    def _remove_folder(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            self.remove_folder_requested.emit(item.text())

    def save(self) -> dict[str, bool]:
        """Write the choices to the settings; returns which of them changed."""
        s = self.settings
        changed = {
            "word_vectors": self.word_vectors.text().strip() != s.word_vectors,
            "image_model": self.model.currentText().strip() != s.image_model,
            "thumbnail_size": self.thumb.value() != s.thumbnail_size,
        }
        s.word_vectors = self.word_vectors.text().strip()
        s.image_model = self.model.currentText().strip() or s.image_model
        s.thumbnail_size = self.thumb.value()
        s.sync()
        return changed
