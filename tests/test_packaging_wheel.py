"""The wheel carries everything the app needs at run time (issue: packaging).

Builds the wheel, installs it into a fresh virtual environment and runs the CLI from outside the
source tree. The fresh environment borrows the test environment's third-party packages through a
.pth file (PyTorch is several GB; the point here is photosearch's own wheel, not pip's resolver).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from helpers import copy_sample

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.packaging


def run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Never the caller's PYTHONPATH: it may point at the checkout, and the wheel must run on its own.
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONPATH"}
    out = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(REPO),
        ],
        work,
    )
    wheel = next(work.glob("photosearch-*.whl"))
    target = work / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    py = target / "bin" / "python"
    site = Path(
        run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work
        ).stdout.strip()
    )
    # Every package folder of the test environment, not only its own: a worktree's venv may
    # borrow its packages from another through a .pth file, which the fresh one does not read.
    borrowed = [p for p in sys.path if Path(p).name == "site-packages"]
    (site / "borrowed-deps.pth").write_text("".join(f"{p}\n" for p in borrowed))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        work,
    )
    return target


def test_wheel_contains_resources_and_runs_outside_the_source_tree(installed, tmp_path):
    py = installed / "bin" / "python"
    where = run(
        [
            str(py),
            "-c",
            "from photosearch.core.resources import resources_dir, sample_photos_dir; "
            "print(resources_dir()); print(len(list(sample_photos_dir().glob('*/*.jpg'))))",
        ],
        tmp_path,
    ).stdout.split()
    assert str(installed) in where[0]  # resources come from the installed wheel, not the checkout
    assert int(where[1]) == 360
    photos = tmp_path / "photos"
    copy_sample(photos, ["dog", "pizza", "sunflower"], per_class=5)
    env = {**os.environ, "PHOTOSEARCH_DB": str(tmp_path / "lib.db")}
    cli = str(installed / "bin" / "photosearch")
    summary = json.loads(run([cli, "index", str(photos), "--json"], tmp_path, env).stdout)
    assert summary["embedded"] == 15 and summary["errors"] == 0
    similar = json.loads(
        run(
            [cli, "similar", str(photos / "dog" / "image_0001.jpg"), "-k", "4", "--json"],
            tmp_path,
            env,
        ).stdout
    )
    assert all("/dog/" in r["path"] for r in similar)
    found = json.loads(run([cli, "search", "pizza", "-k", "5", "--json"], tmp_path, env).stdout)
    assert sum("/pizza/" in r["path"] for r in found) >= 4
    assert (installed / "bin" / "photosearch-gui").exists()
