"""Locate the files shipped in ``resources/`` (installed as the ``photosearch.resources`` package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding the app's shipped data files, in a checkout or an installed wheel."""
    spec = importlib.util.find_spec("photosearch.resources")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            path = Path(location)
            if path.is_dir():
                return path
    # A plain source checkout run without installing: resources/ sits beside the package.
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"photosearch resource missing: {path} (is the installation complete?)"
        )
    return path


def sample_photos_dir() -> Path:
    """The small bundled, attributed photo set used by the demo library and the tests."""
    return resource_path("sample-photos")
