"""The PyInstaller one-folder bundle builds and starts (slow: minutes; not in the default run).

    python -m pytest -m bundle tests/test_packaging_bundle.py

Builds with packaging/build_bundle.sh in a fresh build venv with CPU-only torch. Where the
machine keeps a CPU torch wheel in /opt/wheels (as the development machines here do), that wheel
is used; elsewhere torch comes from PyTorch's CPU index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.bundle, pytest.mark.skipif(sys.platform == "win32", reason="bash script")]


def _local_cpu_torch() -> list[str]:
    wheels = sorted(Path("/opt/wheels").glob("torch-*+cpu-*.whl"))
    if not wheels:
        return []
    version = wheels[-1].name.split("-")[1].split("+")[0]  # e.g. 2.13.0 -> torchvision 0.28
    major, minor = (int(x) for x in version.split(".")[:2])
    vision = f"0.{minor + 15}.*" if major == 2 else "*"
    return ["--torch-index", "", "--torch", f"{wheels[-1]} torchvision=={vision}"]


def test_bundle_builds_and_starts_offscreen():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [
        "bash",
        str(REPO / "packaging" / "build_bundle.sh"),
        "--clean",
        "--smoke",
        *_local_cpu_torch(),
    ]
    out = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    program = REPO / "dist" / "photosearch" / "photosearch"
    assert program.exists()
    internal = REPO / "dist" / "photosearch" / "_internal"
    assert any(internal.rglob("efficientnet-lite0-*.pth")), "model weights missing from the bundle"
    assert any(internal.rglob("nouns.json.gz")), "WordNet resource missing from the bundle"
