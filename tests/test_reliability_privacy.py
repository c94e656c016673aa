"""Privacy: running the real model opens no socket and writes nothing outside the app's folders.

OpenVINO's telemetry package (``openvino_telemetry``) sends usage events to Google Analytics at
``import openvino`` and during model conversion, and writes ``~/intel/openvino_ga_cid`` and
``~/intel/stats``. The test runs ``photosearch index`` with the real model on OpenVINO (a cold
model cache, so the conversion runs too) in a subprocess whose HOME is a fresh folder, and checks
three ways:

* a ``sitecustomize`` on PYTHONPATH records (and refuses) every Python-level socket, name lookup
  and connection;
* under ``strace -f`` (when it is installed and allowed), no ``socket()`` system call at all, and
  no file created, opened for writing, renamed or deleted outside the app's data, cache and
  config folders;
* the HOME tree after the run holds nothing outside those folders (no ``~/intel``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import copy_sample

REPO = Path(__file__).parent.parent

pytest.importorskip("openvino")

SITECUSTOMIZE = textwrap.dedent(
    """
    import os
    import socket

    _LOG = os.environ["PHOTOSEARCH_TEST_NET_LOG"]

    def _record(what, detail):
        with open(_LOG, "a") as f:
            f.write(f"{what} {detail!r}\\n")
        raise OSError("network use refused by the test")

    _init = socket.socket.__init__

    def _socket_init(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and family not in (socket.AF_UNIX,):
            _record("socket", (family, type))
        _init(self, family, type, proto, fileno)

    socket.socket.__init__ = _socket_init
    socket.socket.connect = lambda self, address: _record("connect", address)
    socket.socket.connect_ex = lambda self, address: _record("connect_ex", address)
    socket.getaddrinfo = lambda host, *a, **k: _record("getaddrinfo", host)
    socket.gethostbyname = lambda host: _record("gethostbyname", host)
    socket.create_connection = lambda address, *a, **k: _record("create_connection", address)
    """
)

# System calls that create, change or delete a file (strace names; `openat` only with a write flag).
FILE_CHANGES = (
    "mkdir",
    "mkdirat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "creat",
)
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")


def app_folders(home: Path) -> list[Path]:
    """Where photosearch may write with this HOME (platformdirs' XDG defaults on Linux)."""
    return [
        home / ".local" / "share" / "photosearch",
        home / ".cache" / "photosearch",
        home / ".config" / "photosearch",
    ]


def ours(path: Path, folders: list[Path]) -> bool:
    """In one of ``folders``, or a folder above one (``~/.cache`` may have to be created)."""
    return any(path == f or f in path.parents or path in f.parents for f in folders)


def strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-qq", "-o", os.devnull, "true"], capture_output=True)
    return probe.returncode == 0  # ptrace may be forbidden in a container


def written_paths(trace: str, cwd: Path) -> list[Path]:
    """Paths that succeeded in a create/write-open/rename/delete call in an strace log."""
    found = []
    for line in trace.splitlines():
        call = re.match(r"\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)", line)
        if call is None or call.group(3).startswith("-"):
            continue
        name, args = call.group(1), call.group(2)
        if name == "openat" and not WRITE_FLAGS.search(args):
            continue
        if name != "openat" and name not in FILE_CHANGES:
            continue
        for quoted in re.findall(r'"((?:[^"\\]|\\.)*)"', args):
            path = Path(quoted)
            found.append(path if path.is_absolute() else cwd / path)
    return found


def test_running_the_model_opens_no_socket_and_writes_only_our_folders(tmp_path):
    home, photos, work, site = (tmp_path / n for n in ("home", "photos", "work", "site"))
    for folder in (home, work, site):
        folder.mkdir()
    copy_sample(photos, ["dog"], per_class=3)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    net_log = tmp_path / "net.log"
    env = {  # a clean environment: no CI variable (OpenVINO skips telemetry on CI machines)
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PHOTOSEARCH_BACKEND": "openvino",  # fail loudly rather than quietly fall back to torch
        "PHOTOSEARCH_DEVICE": "cpu",  # where OpenVINO runs, also on a machine with a GPU
        "PHOTOSEARCH_TEST_NET_LOG": str(net_log),
    }
    command = [sys.executable, "-m", "photosearch", "index", str(photos), "--json"]
    trace = tmp_path / "strace.log"
    traced = strace_works()
    if traced:
        command = ["strace", "-f", "-qq", "-e", f"trace=network,openat,{','.join(FILE_CHANGES)}",
                   "-o", str(trace), *command]  # fmt: skip
    run = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stderr
    assert '"backend": "openvino"' in run.stdout  # the model really ran on OpenVINO
    assert not net_log.exists(), f"network use from Python:\n{net_log.read_text()}"
    folders = app_folders(home)
    outside = [p for p in home.rglob("*") if not ours(p, folders)]
    assert outside == [], f"written outside the app's folders: {outside}"
    assert (home / ".cache" / "photosearch" / "models").is_dir()  # the cache really is there
    if traced:
        log = trace.read_text()
        sockets = [line for line in log.splitlines() if "socket(" in line]
        assert sockets == [], "sockets opened:\n" + "\n".join(sockets[:10])
        written = written_paths(log, work)
        stray = {p for p in written if not ours(p, folders) and p != Path(os.devnull)}
        assert not stray, f"files written outside the app's folders: {sorted(stray)}"
