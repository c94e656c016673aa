"""Every command's output is valid UTF-8, with file names that are not (issue 19, item 5).

A real library (the real model, indexed once by the real `photosearch index`) in a folder whose
name holds the byte 0xFF, with a photo named b"caf\\xe9.jpg" (an exact copy of another, so it is
also a duplicate), a broken file b"broken\\xfe.jpg" (an error row) and a FIFO b"fifo\\xfd.jpg" (a
problem of the scan). Each command runs as a subprocess with a strict UTF-8 stdout
(``PYTHONIOENCODING=utf-8``, as on a normal desktop): it must exit 0, its --json must parse,
and ``os.fsencode`` of the names in it must give the original bytes back; its plain output must
decode as UTF-8 and show the bytes as ``\\xNN``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import SAMPLE

REPO = Path(__file__).parent.parent
ROOT_NAME = b"lib-\xff"
CAFE = b"caf\xe9.jpg"
BROKEN = b"broken\xfe.jpg"
FIFO = b"fifo\xfd.jpg"


def cli(*args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PHOTOSEARCH_DB"}
    env["PYTHONIOENCODING"] = "utf-8"  # strict: an unencodable character is an error
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )


class Library:
    def __init__(self, base: Path) -> None:
        self.db = str(base / "library.db")
        self.root = os.path.join(os.fsencode(base), ROOT_NAME)
        self.cafe = os.path.join(self.root, CAFE)
        self.dog = os.path.join(self.root, b"dog1.jpg")
        self.index: subprocess.CompletedProcess[bytes] | None = None


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    lib = Library(tmp_path_factory.mktemp("output"))
    os.mkdir(lib.root)
    dogs = sorted((SAMPLE / "dog").glob("*.jpg"))[:3]
    for i, photo in enumerate(dogs):
        shutil.copy(photo, os.path.join(lib.root, b"dog%d.jpg" % i))
    shutil.copy(dogs[0], lib.cafe)
    with open(os.path.join(lib.root, BROKEN), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not the rest of a JPEG")
    os.mkfifo(os.path.join(lib.root, FIFO))
    lib.index = cli("index", lib.root, "--json", "--db", lib.db)  # the one indexing run
    return lib


def loads(proc: subprocess.CompletedProcess[bytes]) -> Any:
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Traceback" not in proc.stderr
    return json.loads(proc.stdout.decode("utf-8"))


def names(data: Any) -> list[bytes]:
    """Every "path" value anywhere in ``data``, as the bytes it names."""
    found: list[bytes] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "path" and isinstance(value, str):
                found.append(os.fsencode(value))
            else:
                found.extend(names(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(names(item))
    return found


def test_index_json_lists_the_problem_by_its_real_name(library):
    data = loads(library.index)
    assert data["embedded"] == 4 and data["errors"] == 1, data
    assert list(data) == [  # the --json contract, built from the one Changes record
        "added",
        "updated",
        "moved",
        "missing",
        "offline",
        "errors",
        "embedded",
        "unchanged",
        "seconds",
        "problems",
        "inference",
    ]
    assert data["added"] == 5 and data["unchanged"] == data["missing"] == 0, data
    assert os.path.join(library.root, FIFO) in names(data["problems"])


# (arguments, the name the output must hold); "{db}", "{cafe}", "{dog}", "{root}" are filled in
COMMANDS = {
    "search": (["search", "dog", "-k", "50"], "cafe"),
    "search --image": (["search", "--image", "{dog}", "-k", "50"], "cafe"),
    "similar": (["similar", "{dog}", "-k", "50"], "cafe"),
    "tags": (["tags", "{cafe}"], "cafe"),
    "duplicates": (["duplicates"], "cafe"),
    "status": (["status"], "broken"),
    "folders": (["folders"], "root"),
}


def fill(library: Library, args: list[str]) -> list[str | bytes]:
    values = {"{dog}": library.dog, "{cafe}": library.cafe, "{root}": library.root}
    return [values.get(a, a) for a in args]


def expected(library: Library, which: str) -> bytes:
    return {
        "cafe": library.cafe,
        "broken": os.path.join(library.root, BROKEN),
        "root": library.root,
    }[which]


@pytest.mark.parametrize("command", COMMANDS)
def test_json_output_parses_and_gives_the_bytes_back(library, command):
    args, which = COMMANDS[command]
    data = loads(cli(*fill(library, args), "--json", "--db", library.db))
    assert expected(library, which) in names(data), names(data)


@pytest.mark.parametrize("command", COMMANDS)
def test_plain_output_is_utf8_with_the_bytes_escaped(library, command):
    args, which = COMMANDS[command]
    proc = cli(*fill(library, args), "--db", library.db)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = proc.stdout.decode("utf-8")  # strict: valid UTF-8 or an error
    shown = expected(library, which).decode("utf-8", "backslashreplace")
    assert shown in text, text
    assert "\\xff" in shown


def test_classify_json_with_the_real_model(library):
    """classify always runs the model (the other commands use the stored vectors)."""
    data = loads(cli("classify", library.cafe, "--json"))
    assert names(data) == [library.cafe] and len(data[0]["labels"]) == 5
