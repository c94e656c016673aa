"""A generated corpus of hostile and odd files, indexed beside good photos.

Nothing is downloaded: every odd file is built here, in a temporary folder, from the bundled sample
photos or from scratch. The indexer must never crash or hang, must index every good photo, and must
either index each odd file or record it with a clear message (as an error row, or as a scan problem
for things that are not files at all). ``KINDS`` is the list counted in docs/reliability.md.
"""

from __future__ import annotations

import faulthandler
import io
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import SAMPLE, copy_sample
from PIL import Image, features

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.indexing.sync import sync_folders
from photosearch.core.library.rows import path_from_db
from photosearch.core.library.store import Library
from photosearch.core.vision.imageio import open_image

TIMEOUT_S = 120
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# Root reads files whatever their mode bits; the permission kinds are then checked separately in
# a child process whose capabilities to bypass permissions are dropped (see the last test).
PERMISSIONS_BITE = not IS_ROOT


# --- building blocks ----------------------------------------------------------------------------
def sample_jpeg_bytes(index: int = 0) -> bytes:
    photos = sorted(SAMPLE.glob("*/*.jpg"))
    return photos[index].read_bytes()


def jpeg_bytes(image: Image.Image, **kw: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def raw_png(
    width: int, height: int, depth: int, color_type: int, rows: Any, extra: bytes = b""
) -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit RGBA, bombs or lying headers)."""
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for row in rows) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + extra
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """Insert an APP1 (EXIF) segment right after the SOI marker."""
    assert jpeg[:2] == b"\xff\xd8" and len(payload) <= 65533
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def asymmetric_image() -> Image.Image:
    """96x64, six 32px blocks of distinct colours: any flip or rotation is visible."""
    colours = [
        [(255, 0, 0), (0, 255, 0), (0, 0, 255)],
        [(255, 255, 0), (0, 255, 255), (255, 0, 255)],
    ]
    array = np.zeros((64, 96, 3), np.uint8)
    for r, row in enumerate(colours):
        for c, colour in enumerate(row):
            array[r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32] = colour
    return Image.fromarray(array, "RGB")


def stored_for_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores so that EXIF ``orientation`` displays ``upright``.

    Written from the EXIF definitions (where the 0th row and column go), not from Pillow.
    """
    return {
        1: upright,
        2: upright[:, ::-1],
        3: upright[::-1, ::-1],
        4: upright[::-1, :],
        5: upright.transpose(1, 0, 2),
        6: np.rot90(upright, k=1),
        7: upright[::-1, ::-1].transpose(1, 0, 2),
        8: np.rot90(upright, k=-1),
    }[orientation]


def exif_bytes(**tags: Any) -> bytes:
    exif = Image.Exif()
    for key, value in tags.items():
        exif[int(key[1:], 16)] = value
    return exif.tobytes()


def make_sparse(path: Path, size: int, head: bytes = b"") -> None:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)


# --- the corpus ---------------------------------------------------------------------------------
@dataclass
class Kind:
    """One kind of odd input and what the index must make of it.

    ``expect``: "indexed"; "error" (an error row whose message contains ``fragment``); "problem"
    (not registered, reported by the scan with ``fragment``); "ignored" (skipped by design:
    hidden and system folders).
    """

    name: str
    paths: list[Path | bytes]
    expect: str
    fragment: str = ""
    between: Callable[[], None] | None = None  # runs after the scan, before the files are read
    extra: dict[str, Any] = field(default_factory=dict)


def build_corpus(root: Path, outside: Path) -> list[Kind]:
    odd = root / "odd"
    odd.mkdir(parents=True)
    outside.mkdir(parents=True, exist_ok=True)
    sample = sample_jpeg_bytes(0)
    kinds: list[Kind] = []

    def put(name: str, data: bytes, folder: Path = odd) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def add(name: str, paths: list[Any], expect: str, fragment: str = "", **kw: Any) -> None:
        kinds.append(Kind(name, paths, expect, fragment, **kw))

    add("zero-byte file", [put("empty.jpg", b"")], "error", "empty file (0 bytes)")
    add(
        "truncated JPEG",
        [put("truncated.jpg", sample[: len(sample) * 6 // 10])],
        "error",
        "corrupt or truncated image",
    )
    add(
        "JPEG with garbage after EOI",
        [put("trailing-garbage.jpg", sample + os.urandom(5000) + b"\x00" * 1000)],
        "indexed",
    )
    add(
        "text file named .jpg",
        [put("notes.jpg", b"Dear diary, today I took no photos.\n" * 20)],
        "error",
        "not an image (unrecognised file contents)",
    )
    add("JPEG named .png", [put("really-a-jpeg.png", sample)], "indexed")
    add(
        "random bytes after a JPEG signature",
        [put("noise.jpg", b"\xff\xd8\xff\xe0" + np.random.default_rng(1).bytes(20000))],
        "error",
        "corrupt or truncated image",
    )
    add(
        "truncated PNG",
        [put("truncated.png", _noise_png()[:3000])],
        "error",
        "corrupt or truncated image",
    )
    bad_crc = bytearray(raw_png(16, 16, 8, 2, [b"\x00" + b"\x40" * 48] * 16))
    bad_crc[29] ^= 0xFF  # the IHDR chunk's CRC
    add(
        "PNG with a broken header CRC",
        [put("bad-crc.png", bytes(bad_crc))],
        "error",
        "not an image, or a format Pillow cannot read",
    )
    add(
        "PNG declaring zero width",
        [put("zero-width.png", raw_png(0, 16, 8, 2, [b"\x00"] * 16))],
        "error",
        "not an image, or a format Pillow cannot read",
    )

    # Bombs and lying headers: refused from the header, never allocated.
    side = 20000  # 400 MP of 1-bit pixels in a ~50 KB file
    row = b"\x00" * (1 + side // 8)
    add(
        "decompression bomb (1-bit PNG, 20000x20000 in 50 KB)",
        [put("bomb.png", raw_png(side, side, 1, 0, (row for _ in range(side))))],
        "error",
        "image too large to decode safely",
    )
    jpeg = bytearray(jpeg_bytes(Image.new("RGB", (64, 48), "red")))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    add(
        "JPEG header claiming 60000x60000",
        [put("claims-60000.jpg", bytes(jpeg))],
        "error",
        "image too large to decode safely",
    )
    add(
        "PNG header claiming 60000x60000",
        [put("claims-60000.png", raw_png(60000, 60000, 8, 2, [b"\x00" * 10]))],
        "error",
        "image too large to decode safely",
    )
    bmp = bytearray(io.BytesIO().getvalue())
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buf, "BMP")
    bmp = bytearray(buf.getvalue())
    bmp[18:26] = struct.pack("<ii", 50000, 50000)
    add(
        "BMP header claiming 50000x50000",
        [put("claims-50000.bmp", bytes(bmp))],
        "error",
        "image too large to decode safely",
    )
    text_bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 20_000_000))
    add(
        "PNG text-chunk bomb (zTXt inflating to 20 MB)",
        [put("text-bomb.png", raw_png(8, 8, 8, 2, [b"\x00" + b"\x10" * 24] * 8, text_bomb))],
        "error",
        "too large",
    )
    add(
        "extreme aspect ratio (60000x1)",
        [_save(Image.new("RGB", (60000, 1), (200, 30, 30)), odd / "sliver.png")],
        "indexed",
    )

    # Colour modes.
    add(
        "CMYK JPEG",
        [put("cmyk.jpg", jpeg_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0))))],
        "indexed",
    )
    ycck = bytearray(jpeg_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0))))
    adobe = ycck.index(b"Adobe")
    ycck[adobe + 11] = 2  # Adobe APP14 transform 2: the 4 components are YCCK
    add("YCCK JPEG (Adobe transform 2)", [put("ycck.jpg", bytes(ycck))], "indexed")
    rgba16 = [
        b"\x00" + b"".join(struct.pack(">HHHH", 65535, x * 1000, 0, x * 2000) for x in range(32))
    ] * 32
    add("16-bit RGBA PNG", [put("rgba16.png", raw_png(32, 32, 16, 6, rgba16))], "indexed")
    gray16 = [b"\x00" + b"".join(struct.pack(">H", x * 2000) for x in range(32))] * 32
    trns = png_chunk(b"tRNS", struct.pack(">H", 0))
    add(
        "16-bit grayscale PNG with tRNS transparency",
        [put("gray16-trns.png", raw_png(32, 32, 16, 0, gray16, trns))],
        "indexed",
    )
    add("palette PNG with transparency", [_palette_png(odd / "palette.png")], "indexed")
    add("grayscale JPEG", [_save(Image.new("L", (40, 30), 90), odd / "gray.jpg")], "indexed")
    add(
        "grayscale+alpha PNG",
        [_save(Image.new("LA", (40, 30), (90, 40)), odd / "gray-alpha.png")],
        "indexed",
    )
    add(
        "1x1 images (PNG and JPEG)",
        [
            _save(Image.new("RGB", (1, 1), "green"), odd / "pixel.png"),
            _save(Image.new("RGB", (1, 1), "green"), odd / "pixel.jpg"),
        ],
        "indexed",
    )
    add("animated GIF", [_animated(odd / "anim.gif")], "indexed")
    if features.check("webp"):
        add("animated WebP", [_animated(odd / "anim.webp")], "indexed")
    add(
        "other formats (BMP, TIFF, static GIF, WebP, progressive JPEG)",
        [
            _save(Image.new("RGB", (40, 30), "navy"), odd / "plain.bmp"),
            _save(Image.new("RGB", (40, 30), "navy"), odd / "plain.tif"),
            _save(Image.new("RGB", (40, 30), "navy"), odd / "plain.gif"),
            _save(Image.new("RGB", (40, 30), "navy"), odd / "plain.webp"),
            put("progressive.jpg", _progressive(sample)),
        ],
        "indexed",
    )

    # EXIF.
    add(
        "corrupt EXIF block",
        [put("corrupt-exif.jpg", with_app1(sample, b"Exif\x00\x00" + os.urandom(3000)))],
        "indexed",
    )
    add(
        "huge EXIF block (60 KB description)",
        [put("huge-exif.jpg", jpeg_bytes(Image.open(io.BytesIO(sample)), exif=_huge_exif()))],
        "indexed",
    )
    bad_offsets = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 2)
    bad_offsets += struct.pack("<HHII", 0x010F, 2, 1000, 0x7FFFFFF0)  # Make, far outside
    bad_offsets += struct.pack("<HHII", 0x8769, 4, 1, 0x7FFFFFF0)  # Exif IFD, far outside
    bad_offsets += struct.pack("<I", 0xFFFFFFF0)  # next IFD, far outside
    add(
        "EXIF with offsets pointing outside the block",
        [put("exif-offsets.jpg", with_app1(sample, b"Exif\x00\x00" + bad_offsets))],
        "indexed",
    )
    upright = np.asarray(asymmetric_image())
    oriented = []
    for orientation in range(1, 9):
        stored = Image.fromarray(np.ascontiguousarray(stored_for_orientation(upright, orientation)))
        oriented.append(
            _save(stored, odd / f"orient-{orientation}.jpg", exif=exif_bytes(x0112=orientation))
        )
    add("EXIF orientation 1-8", oriented, "indexed", extra={"upright_size": (96, 64)})
    add(
        "EXIF orientation out of range (0 and 9)",
        [
            _save(asymmetric_image(), odd / "orient-0.jpg", exif=exif_bytes(x0112=0)),
            _save(asymmetric_image(), odd / "orient-9.jpg", exif=exif_bytes(x0112=9)),
        ],
        "indexed",
    )
    add(
        "EXIF dates that are placeholders or nonsense",
        [
            _save(
                asymmetric_image(),
                odd / "date-zero.jpg",
                exif=exif_bytes(x0132="0000:00:00 00:00:00"),
            ),
            _save(asymmetric_image(), odd / "date-junk.jpg", exif=exif_bytes(x0132="yesterday!")),
        ],
        "indexed",
    )

    # Names and paths.
    long_name = "L" * 251 + ".jpg"
    assert len(long_name.encode()) == 255
    add("255-byte file name", [put(long_name, sample)], "indexed")
    raw_name = os.fsencode(str(odd)) + b"/caf\xe9-latin1.jpg"
    with open(raw_name, "wb") as f:
        f.write(sample)
    add("non-UTF-8 bytes in a file name", [raw_name], "indexed", extra={"blob": True})
    add(
        "spaces and emoji in folder and file names",
        [put("my holiday 🌴/ beach day 📷 .jpg", sample)],
        "indexed",
    )
    add("newline in a file name", [put("two\nlines.jpg", sample)], "indexed")
    marker = root / "PWNED"
    add(
        "shell metacharacters in a file name",
        [put(f"$(touch {marker}); `touch {marker}` ' \" & | ;.jpg".replace("/", "_"), sample)],
        "indexed",
        extra={"marker": marker},
    )
    add("leading dash in a file name", [put("-rf --no-preserve-root.jpg", sample)], "indexed")
    add("upper-case extension", [put("SHOUTING.JPG", sample)], "indexed")
    deep = odd / Path(*[f"level{i:02d}" for i in range(60)])
    add("folder nested 60 levels deep", [put("deep.jpg", sample, deep)], "indexed")
    add(
        "hidden file and system folders (skipped by design)",
        [
            put(".hidden.jpg", sample),
            put("thumb.jpg", sample, odd / "@eaDir"),
            put("x.jpg", sample, odd / ".thumbnails"),
        ],
        "ignored",
    )
    weird_time = put("mtime-1901.jpg", sample)
    os.utime(weird_time, (-2_000_000_000, -2_000_000_000))
    future = put("mtime-2200.jpg", sample)
    os.utime(future, (7_258_118_400, 7_258_118_400))
    add("modification times before 1970 and in 2200", [weird_time, future], "indexed")

    # Permissions.
    locked = put("locked.jpg", sample)
    locked.chmod(0)
    add(
        "unreadable file (mode 000)",
        [locked],
        "error" if PERMISSIONS_BITE else "indexed",
        "cannot open: Permission denied" if PERMISSIONS_BITE else "",
    )
    locked_dir = odd / "locked-folder"
    put("inside.jpg", sample, locked_dir)
    locked_dir.chmod(0)
    kinds.append(
        Kind(
            "unreadable folder (mode 000)",
            [locked_dir] if PERMISSIONS_BITE else [locked_dir / "inside.jpg"],
            "problem" if PERMISSIONS_BITE else "indexed",
            "cannot read folder: Permission denied" if PERMISSIONS_BITE else "",
        )
    )

    # Links, special files.
    loops = odd / "loops"
    loops.mkdir()
    put("in-loop.jpg", sample, loops)
    (loops / "back-to-odd").symlink_to(odd, target_is_directory=True)
    (loops / "self").symlink_to(loops, target_is_directory=True)
    add("folder symlink loop", [loops / "in-loop.jpg"], "indexed", extra={"once": True})
    (odd / "ping.jpg").symlink_to(odd / "pong.jpg")
    (odd / "pong.jpg").symlink_to(odd / "ping.jpg")
    add("file symlink loop", [odd / "ping.jpg", odd / "pong.jpg"], "problem", "symbolic link loop")
    (odd / "dangling.jpg").symlink_to(odd / "no-such-target.jpg")
    add("dangling symlink", [odd / "dangling.jpg"], "problem", "broken symbolic link")
    put("elsewhere.jpg", sample_jpeg_bytes(1), outside)
    (odd / "link-out.jpg").symlink_to(outside / "elsewhere.jpg")
    (odd / "folder-link-out").symlink_to(outside, target_is_directory=True)
    add(
        "symlinks to a file and a folder outside the library",
        [odd / "link-out.jpg", odd / "folder-link-out"],
        "problem",
        "outside the watched folders (not followed)",
    )
    first = put("hard-a.jpg", sample_jpeg_bytes(2))
    os.link(first, odd / "hard-b.jpg")
    add("hard links (two names, one file)", [first, odd / "hard-b.jpg"], "indexed")
    make_sparse(odd / "sparse-2gb.jpg", 2 << 30)
    add(
        "2 GB sparse file named .jpg",
        [odd / "sparse-2gb.jpg"],
        "error",
        "file too large for a photo",
    )
    make_sparse(odd / "sparse-100mb.png", 100 << 20, b"PK\x03\x04 not a png")
    add(
        "100 MB sparse non-image named .png",
        [odd / "sparse-100mb.png"],
        "error",
        "not an image (unrecognised file contents)",
    )
    os.mkfifo(odd / "pipe.jpg")
    add("FIFO named .jpg", [odd / "pipe.jpg"], "problem", "not a regular file")
    if os.path.exists("/dev/zero"):
        (odd / "zero.jpg").symlink_to("/dev/zero")
        add("symlink to a device (/dev/zero)", [odd / "zero.jpg"], "problem", "not a regular file")

    # Changes between the scan and the read.
    doomed = put("deleted-after-scan.jpg", sample)
    add(
        "file deleted between scan and read",
        [doomed],
        "error",
        "cannot open: No such file or directory",
        between=doomed.unlink,
    )
    folder_later = put("folder-after-scan.jpg", sample)

    def to_folder() -> None:
        folder_later.unlink()
        folder_later.mkdir()

    add(
        "file replaced by a folder between scan and read",
        [folder_later],
        "error",
        "is a folder, not a photo",
        between=to_folder,
    )
    fifo_later = put("fifo-after-scan.jpg", sample)

    def to_fifo() -> None:
        fifo_later.unlink()
        os.mkfifo(fifo_later)

    add(
        "file replaced by a FIFO between scan and read",
        [fifo_later],
        "error",
        "not a regular file",
        between=to_fifo,
    )
    swapped = put("swapped-after-scan.jpg", sample)
    add(
        "file replaced by another photo between scan and read",
        [swapped],
        "indexed",
        between=lambda: swapped.write_bytes(sample_jpeg_bytes(3)),
    )
    return kinds


def _save(image: Image.Image, path: Path, **kw: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)
    return path


def _noise_png() -> bytes:
    rng = np.random.default_rng(2)
    return raw_png(64, 64, 8, 2, [b"\x00" + rng.bytes(192) for _ in range(64)])


def _palette_png(path: Path) -> Path:
    image = Image.new("P", (40, 30), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    image.paste(1, (0, 0, 20, 30))
    image.save(path, transparency=0)  # the right half is transparent
    return path


def _animated(path: Path) -> Path:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "lime", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def _progressive(sample: bytes) -> bytes:
    return jpeg_bytes(Image.open(io.BytesIO(sample)), progressive=True, quality=80)


def _huge_exif() -> bytes:
    return exif_bytes(x010e="x" * 60000, x010f="Make", x0110="Model")


# --- running the index under a hard timeout ----------------------------------------------------
def run_with_timeout(fn: Callable[[], Any], seconds: float = TIMEOUT_S) -> Any:
    """Run ``fn`` in a thread; a hang fails the test (with every thread's stack) instead of
    blocking the suite."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        faulthandler.dump_traceback(all_threads=True)
        pytest.fail(f"the indexer hung for more than {seconds:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


@dataclass
class Outcome:
    rows: dict[str, tuple[str, str | None, int | None, int | None, str]]  # path -> row facts
    problems: list[tuple[str, str]]
    calls: int


def index_corpus(db_path: Path, root: Path, kinds: list[Kind], encoder: Any) -> Outcome:
    with Library(db_path) as library:
        library.add_folder(root)
        indexer = Indexer(library, encoder, batch_size=8, decode_workers=2)
        indexer.prepare()

        def work() -> list[tuple[str, str]]:
            scan = sync_folders(library, None, encoder.model_id)
            for kind in kinds:
                if kind.between is not None:
                    kind.between()
            indexer.embed_pending()
            return scan.problems

        # Pillow warns as it reads the EXIF block whose offsets point past its end (the corpus's
        # "exif-offsets.jpg"); any other warning is re-raised, and fails the test, on the way out.
        with pytest.warns(UserWarning, match="Tag data larger than file|Corrupt EXIF data"):
            problems = run_with_timeout(work)
        rows = {
            path_from_db(r[0]): (r[1], r[2], r[3], r[4], r[5])
            for r in library.reader().query(
                "SELECT path, status, error, width, height, typeof(path) FROM photos"
            )
        }
        assert library.reader().scalar("PRAGMA integrity_check") == "ok"
        visual = library.reader().scalar("SELECT COUNT(*) FROM vec_visual")
        indexed = sum(1 for r in rows.values() if r[0] == "indexed")
        assert visual == indexed
    return Outcome(rows, problems, getattr(encoder, "calls", 0))


def as_str(path: Path | bytes) -> str:
    return os.fsdecode(path)


def check_outcome(outcome: Outcome, kinds: list[Kind], good: list[Path]) -> None:
    rows, problems = outcome.rows, outcome.problems
    for photo in good:
        assert rows[str(photo)][0] == "indexed", f"good photo not indexed: {photo}"
    failures = []
    for kind in kinds:
        for path in kind.paths:
            key = as_str(path)
            row = rows.get(key)
            reported = [m for p, m in problems if p == key]
            if kind.expect == "indexed":
                ok = row is not None and row[0] == "indexed"
            elif kind.expect == "error":
                ok = row is not None and row[0] == "error" and kind.fragment in (row[1] or "")
            elif kind.expect == "problem":
                ok = row is None and any(kind.fragment in m for m in reported)
            else:  # ignored
                ok = row is None and not reported
            if not ok:
                failures.append(
                    f"{kind.name}: {key!r} expected {kind.expect} {kind.fragment!r}, "
                    f"got row={row} problems={reported}"
                )
        if kind.extra.get("blob"):
            assert rows[as_str(kind.paths[0])][4] == "blob"
        if "upright_size" in kind.extra:
            for path in kind.paths:
                assert rows[as_str(path)][2:4] == kind.extra["upright_size"], path
        if "marker" in kind.extra:
            assert not kind.extra["marker"].exists(), "a file name was run by a shell"
        if kind.extra.get("once"):
            inside = [p for p in rows if p.endswith("in-loop.jpg")]
            assert len(inside) == 1, f"a folder reached through a symlink loop twice: {inside}"
    # Error messages are for people: short, no Python reprs of exceptions.
    for path, row in rows.items():
        if row[0] == "error":
            assert row[1] and len(row[1]) < 300 and "Traceback" not in row[1], (path, row)
    assert not failures, "\n".join(failures)
    assert not any(r[0] == "pending" for r in rows.values())


KINDS_MIN = 30


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[Kind], list[Path]]:
    root = tmp_path / "library"
    good = copy_sample(root / "good", None, per_class=1)
    kinds = build_corpus(root, tmp_path / "outside")
    yield root, kinds, good
    for locked in (root / "odd" / "locked-folder", root / "odd" / "locked.jpg"):
        if locked.exists():
            locked.chmod(0o755)


def test_corpus_has_at_least_30_kinds(tmp_path: Path) -> None:
    kinds = build_corpus(tmp_path / "library", tmp_path / "outside")
    names = [k.name for k in kinds]
    assert len(set(names)) == len(names) >= KINDS_MIN
    (tmp_path / "library" / "odd" / "locked-folder").chmod(0o755)


def test_odd_files_are_indexed_or_recorded_and_good_photos_all_indexed(corpus, tiny_encoder):
    root, kinds, good = corpus
    outcome = index_corpus(root.parent / "lib.db", root, kinds, tiny_encoder)
    check_outcome(outcome, kinds, good)
    indexed = sum(1 for r in outcome.rows.values() if r[0] == "indexed")
    assert outcome.calls == indexed  # every indexed photo was encoded once, nothing else was


@pytest.mark.slow
def test_odd_files_with_the_real_model(corpus, real_encoder):
    root, kinds, good = corpus
    outcome = index_corpus(root.parent / "lib.db", root, kinds, real_encoder)
    check_outcome(outcome, kinds, good)


def test_exif_orientation_gives_upright_pixels(tmp_path: Path) -> None:
    upright = np.asarray(asymmetric_image()).astype(int)
    for orientation in range(1, 9):
        stored = Image.fromarray(
            np.ascontiguousarray(stored_for_orientation(upright.astype(np.uint8), orientation))
        )
        path = _save(
            stored, tmp_path / f"o{orientation}.jpg", quality=95, exif=exif_bytes(x0112=orientation)
        )
        got = np.asarray(open_image(path)).astype(int)
        assert got.shape == upright.shape, f"orientation {orientation}: shape {got.shape}"
        # Compare the centre of each 32px block (JPEG blurs the edges between blocks).
        for r in range(2):
            for c in range(3):
                want = upright[r * 32 + 16, c * 32 + 16]
                have = got[r * 32 + 8 : r * 32 + 24, c * 32 + 8 : c * 32 + 24].mean(axis=(0, 1))
                assert np.abs(have - want).max() < 40, (orientation, r, c, have, want)


def test_decoded_pixels_of_odd_modes(tmp_path: Path) -> None:
    """Transparency goes on white, animations give their first frame, CMYK stays red."""
    palette = np.asarray(open_image(_palette_png(tmp_path / "p.png")))
    assert tuple(palette[15, 5]) == (255, 0, 0) and tuple(palette[15, 35]) == (255, 255, 255)
    for suffix in ("gif", "webp") if features.check("webp") else ("gif",):
        first = np.asarray(open_image(_animated(tmp_path / f"a.{suffix}"))).astype(int)
        assert np.abs(first[15, 20] - (255, 0, 0)).max() < 40, suffix
    cmyk = jpeg_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0)))
    assert (
        np.abs(np.asarray(open_image(io.BytesIO(cmyk))).astype(int)[20, 20] - (255, 0, 0)).max()
        < 40
    )
    rgba16 = [b"\x00" + struct.pack(">HHHH", 0, 0, 65535, 65535) * 4] * 4
    (tmp_path / "b.png").write_bytes(raw_png(4, 4, 16, 6, rgba16))
    assert tuple(np.asarray(open_image(tmp_path / "b.png"))[1, 1]) == (0, 0, 255)
    sliver = open_image(_save(Image.new("RGB", (60000, 1)), tmp_path / "s.png"))
    assert sliver.size == (60000, 1)


PERMISSION_CHILD = r"""
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
from photosearch.core.indexing.indexer import read_and_decode
from photosearch.core.indexing.scanner import walk_photos
problems = []
found = [e.path for e in walk_photos({folder!r}, problems)]
class Preprocess:  # no torch in this child: it starts in a fraction of a second
    decode_side = 32
    crop = "center"
    def __call__(self, image):
        return np.asarray(image.resize((32, 32)))
decoded = read_and_decode(1, {file!r}, Preprocess())
print(json.dumps({{"found": found, "problems": problems, "error": decoded.error}}))
"""


@pytest.mark.skipif(not IS_ROOT, reason="as a normal user the corpus test already covers this")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop root's powers")
def test_permission_errors_when_running_as_root(tmp_path: Path) -> None:
    """Root ignores mode bits, so the corpus alone cannot show the permission messages: here a
    child process runs without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, where they apply again."""
    folder = tmp_path / "photos"
    locked_dir = folder / "locked"
    locked_dir.mkdir(parents=True)
    (locked_dir / "a.jpg").write_bytes(sample_jpeg_bytes(0))
    locked = folder / "locked.jpg"
    locked.write_bytes(sample_jpeg_bytes(0))
    locked.chmod(0)
    locked_dir.chmod(0)
    script = PERMISSION_CHILD.format(
        tests=str(Path(__file__).parent), folder=str(folder), file=str(locked)
    )
    try:
        proc = subprocess.run(
            [
                "setpriv",
                "--bounding-set=-dac_override,-dac_read_search",
                sys.executable,
                "-c",
                script,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent.parent,
        )
    finally:
        locked_dir.chmod(0o755)
        locked.chmod(0o644)
    if proc.returncode != 0 and "setpriv" in proc.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["error"] == "cannot open: Permission denied"
    assert data["found"] == [str(locked)]  # listed (the folder is readable), then refused on read
    assert [str(locked_dir), "cannot read folder: Permission denied"] in data["problems"]


def test_sparse_file_is_not_read(tmp_path: Path, tiny_encoder, monkeypatch) -> None:
    """A huge file is refused from its size; a non-image from its first bytes."""
    from photosearch.core.indexing import indexer

    reads: list[int] = []
    real_fdopen = os.fdopen

    class Counting(io.BufferedReader):
        def read(self, n: int | None = -1) -> bytes:  # type: ignore[override]
            data = super().read(n)
            reads.append(len(data))
            return data

    def counting_fdopen(fd: int, *args: Any, **kw: Any) -> Any:
        return Counting(real_fdopen(fd, "rb", buffering=0, closefd=False))

    monkeypatch.setattr(indexer.os, "fdopen", counting_fdopen)
    make_sparse(tmp_path / "big.jpg", 2 << 30)
    make_sparse(tmp_path / "junk.png", 100 << 20, b"not a png")
    assert "too large" in (
        indexer.read_and_decode(1, str(tmp_path / "big.jpg"), tiny_encoder.preprocess).error or ""
    )
    assert "not an image" in (
        indexer.read_and_decode(2, str(tmp_path / "junk.png"), tiny_encoder.preprocess).error or ""
    )
    assert sum(reads) <= 64
    assert stat.S_ISREG(os.stat(tmp_path / "big.jpg").st_mode)
