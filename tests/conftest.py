from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from helpers import SAMPLE, TinyEncoder  # noqa: E402


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
    from photosearch.core.encoder import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_library_path(tmp_path_factory: pytest.TempPathFactory, real_encoder) -> Path:  # type: ignore[no-untyped-def]
    """A library of all 360 bundled sample photos, indexed once with the real model.

    Tests must not modify it; copy the file when a test needs to write.
    """
    from photosearch.core.indexer import Indexer
    from photosearch.core.store import Library

    path = tmp_path_factory.mktemp("sample-lib") / "library.db"
    from photosearch.core.text import build_embedder

    semantic = build_embedder()
    with Library(path) as library:
        library.add_folder(SAMPLE)
        Indexer(library, real_encoder, semantic).run()
    return path
