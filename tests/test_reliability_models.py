"""Model and file safety: untrusted weight and word-vector files never run code; no shell.

The malicious files are pickles whose unpickling would create a marker file; the tests check the
load is refused with a clear error and the marker never appears.
"""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import SAMPLE

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "photosearch"
PHOTO = sorted(SAMPLE.glob("*/*.jpg"))[0]


class Evil:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def evil_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    marker = tmp_path / "PWNED"
    zipped = tmp_path / "evil-zip.pth"  # torch's zip format, as torch.save writes it
    torch.save({"weight": torch.zeros(2), "payload": Evil(marker)}, zipped)
    legacy = tmp_path / "evil-legacy.pth"  # a bare pickle, as old torch and others write it
    with open(legacy, "wb") as f:
        pickle.dump({"payload": Evil(marker)}, f, protocol=2)
    return marker, [zipped, legacy]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )


def malformed_files(tmp_path: Path) -> list[tuple[Path, str]]:
    garbage = tmp_path / "bad.pth"
    garbage.write_bytes(os.urandom(4096))
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    wrong = tmp_path / "wrong.pth"
    torch.save({"not.a.layer": torch.zeros(3, 3)}, wrong)
    return [
        (garbage, "cannot load model weights"),
        (empty, "cannot load model weights"),
        (wrong, "does not match the efficientnet_lite0 architecture"),
    ]


def test_malicious_and_malformed_weights_are_refused_in_process(tmp_path):
    from photosearch.core.encoder import ModelNotFoundError, load_encoder

    marker, files = evil_files(tmp_path)
    cases = [*((f, "cannot load model weights") for f in files), *malformed_files(tmp_path)]
    for path, fragment in cases:
        with pytest.raises(ModelNotFoundError, match=fragment):
            load_encoder("efficientnet_lite0", weights=path)
        assert not marker.exists(), f"loading {path.name} ran code"


def test_malicious_and_malformed_weights_on_the_command_line(tmp_path):
    """What a user sees: exit status 2, one clear line, no traceback (two files: each run
    imports torch, which is slow)."""
    marker, files = evil_files(tmp_path)
    garbage, fragment = malformed_files(tmp_path)[0]
    for path in (files[0], garbage):
        proc = cli("classify", "--weights", str(path), str(PHOTO))
        assert proc.returncode == 2, (path.name, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert fragment in proc.stderr and str(path) in proc.stderr, proc.stderr
        assert not marker.exists(), f"{path.name} ran code"


def test_weights_are_only_loaded_with_weights_only():
    """Every torch.load in the package passes weights_only=True."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                kw = {k.arg: k.value for k in node.keywords}
                value = kw.get("weights_only")
                assert isinstance(value, ast.Constant) and value.value is True, (
                    f"{path}:{node.lineno} torch.load without weights_only=True"
                )


def test_pickled_word_vectors_are_refused(tmp_path):
    wordspace = pytest.importorskip("photosearch.core.text.wordspace")
    marker = tmp_path / "PWNED"
    candidates = []
    for protocol in (0, 2, 4, 5):  # 0 is a text pickle: it is only ever parsed as text
        path = tmp_path / f"vectors-p{protocol}.kv"
        with open(path, "wb") as f:
            pickle.dump({"king": [0.1, 0.2], "payload": Evil(marker)}, f, protocol=protocol)
        candidates.append(path)
    npz = tmp_path / "vectors.npy"  # a pickled object array in NumPy's format
    import numpy as np

    np.save(npz, np.array([Evil(marker)], dtype=object), allow_pickle=True)
    npz.with_suffix(".vocab.txt").write_text("king\n")
    candidates.append(npz)
    torch_file = tmp_path / "vectors.pt"
    torch.save({"payload": Evil(marker)}, torch_file)
    candidates.append(torch_file)
    for path in candidates:
        with pytest.raises(wordspace.WordSpaceError):
            wordspace.WordSpace.load(path)
        assert not marker.exists(), f"loading {path.name} as word vectors ran code"


SHELL_CALLS = {("os", "system"), ("os", "popen"), ("os", "execl"), ("os", "execlp")}


def test_no_shell_anywhere_in_the_package():
    """Paths from the database are never handed to a shell: no shell=True, os.system, os.popen,
    and no subprocess call with a command given as one string."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    offenders.append(f"{where} shell=")
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in SHELL_CALLS:
                    offenders.append(f"{where} {func.value.id}.{func.attr}")
                if (
                    func.value.id == "subprocess"
                    and node.args
                    and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp))
                ):
                    offenders.append(f"{where} subprocess with a command string")
    assert not offenders, offenders
    text = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text
