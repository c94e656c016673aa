"""photosearch.core must work headless: importing all of it with Qt made unimportable."""

import subprocess
import sys

SCRIPT = """
import builtins, importlib, pkgutil, sys
real_import = builtins.__import__
def guarded(name, *args, **kwargs):
    if name.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"}:
        raise ImportError("Qt is not allowed in photosearch.core: " + name)
    return real_import(name, *args, **kwargs)
builtins.__import__ = guarded
import photosearch.core
names = [m.name for m in pkgutil.walk_packages(photosearch.core.__path__, "photosearch.core.")]
for name in names:
    importlib.import_module(name)
assert not any(m.startswith(("PySide6", "shiboken6")) for m in sys.modules), "Qt was imported"
print(len(names))
"""


def test_core_imports_without_qt():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 10
