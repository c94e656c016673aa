"""The one way the command line writes: always valid UTF-8, whatever the file names.

File names on Linux are bytes; Python hands the ones that are not valid UTF-8 around as strings
with lone surrogates (``os.fsdecode``: byte 0xE9 becomes ``"\\udce9"``), which no encoder
accepts. So:

* ``--json``: such a character is written as a JSON escape (``"caf\\udce9.jpg"``), which
  ``json.loads`` reads back as the same string and ``os.fsencode`` turns into the original
  bytes. Everything else is plain UTF-8.
* plain text (stdout and stderr, every ``print``): the byte is shown as ``\\xe9``, as Python and
  ``ls -b`` do, so ``caf\\xe9.jpg``; other unencodable characters become ``\\uXXXX``.

:func:`use_safe_streams` switches both streams to UTF-8 with that rule once per run (a strict
``PYTHONIOENCODING=utf-8`` included), so no command can fail on a name it prints.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from typing import Any

ERRORS = "photosearch.escape"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    out = []
    for char in chunk:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode
            out.append(f"\\x{code - 0xDC00:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), exc.end


codecs.register_error(ERRORS, _escape)


def use_safe_streams() -> None:
    """Make stdout and stderr write UTF-8 and escape what UTF-8 cannot hold."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(encoding="utf-8", errors=ERRORS)
        except (ValueError, OSError):  # e.g. a stream already read from: the handler suffices
            reconfigure(errors=ERRORS)


def to_json(data: Any) -> str:
    """JSON text in which every string survives: lone surrogates become ``\\udcXX`` escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    sys.stdout.write(to_json(data))
    sys.stdout.write("\n")
