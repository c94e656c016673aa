from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from helpers import SAMPLE, TinyEncoder  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _shared_model_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One converted-model cache for the run (not the developer's): tests and the CLI
    subprocesses they start convert the model for OpenVINO once, not once per test."""
    previous = os.environ.get("PHOTOSEARCH_MODEL_CACHE")
    os.environ["PHOTOSEARCH_MODEL_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if previous is None:
        os.environ.pop("PHOTOSEARCH_MODEL_CACHE", None)
    else:
        os.environ["PHOTOSEARCH_MODEL_CACHE"] = previous


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the developer's real library, cache or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PHOTOSEARCH_DB", str(home / "library.db"))
    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture
def tiny_encoder() -> TinyEncoder:
    return TinyEncoder()


@pytest.fixture(scope="session")
def real_encoder():  # type: ignore[no-untyped-def]
    from photosearch.core.vision.loader import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_library_path(tmp_path_factory: pytest.TempPathFactory, real_encoder) -> Path:  # type: ignore[no-untyped-def]
    """A library of all 360 bundled sample photos, indexed once with the real model.

    Tests must not modify it; copy the file when a test needs to write.
    """
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library

    path = tmp_path_factory.mktemp("sample-lib") / "library.db"
    from photosearch.core.text import build_embedder

    semantic = build_embedder()
    with Library(path) as library:
        library.add_folder(SAMPLE)
        Indexer(library, real_encoder, semantic).run()
    return path


@pytest.fixture
def sample_db(tmp_path: Path, sample_library_path: Path) -> Path:
    """A writable copy of the sample library, for a test that changes it."""
    path = tmp_path / "lib.db"
    shutil.copy2(sample_library_path, path)
    return path


@pytest.fixture
def open_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """``open_window(db_path, encoder)`` -> a started MainWindow on a real library; closed and
    checked (no indexer thread left) after the test. Qt is imported only by the tests using it."""
    import threading

    from photosearch.core.library.store import Library
    from photosearch.gui.context import AppContext
    from photosearch.gui.main_window import MainWindow
    from photosearch.gui.qt import QSettings
    from photosearch.gui.settings import Settings
    from photosearch.gui.thumbnails import ThumbnailCache

    windows: list = []

    def make(db_path: Path, encoder: object):  # type: ignore[no-untyped-def]
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        ctx = AppContext(
            Library(db_path),
            settings,
            encoder_factory=lambda _name: encoder,
            semantic_factory=None,
            thumbnail_cache=ThumbnailCache(tmp_path / "thumbnails"),
        )
        window = MainWindow(ctx)
        windows.append(window)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        return window

    yield make
    for window in windows:
        gate = getattr(window.ctx.models._encoder, "gate", None)  # a test's gated encoder
        if gate is not None:
            gate.set()
        window.close()
        assert not window.ctx.indexing.running
    assert not [t for t in threading.enumerate() if t.name.startswith("photosearch-indexer")]


@pytest.fixture
def sample_window(open_window, sample_library_path, real_encoder, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    """A started window on a copy of the indexed sample library (the real model), once it shows
    all 360 photos. Skipped in a build without text search."""
    pytest.importorskip("photosearch.core.text.query")
    db = tmp_path / "sample.db"
    shutil.copy(sample_library_path, db)
    window = open_window(db, real_encoder)
    qtbot.waitUntil(lambda: window.results.model.rowCount() == 360, timeout=30_000)
    return window
