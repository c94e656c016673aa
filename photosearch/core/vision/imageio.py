"""Decode photos safely and quickly: reduced-size decode, EXIF orientation, any pixel mode.

Every decode fits one memory budget shared by all the threads of the process (the indexer's
decode workers, thumbnails, command-line images): its pixels, counted as width x height x bytes
per pixel of what is actually held, are reserved before they are decoded. JPEGs decode at a
reduced scale (``Image.draft``); PNGs and uncompressed TIFF/BMP strips decode band by band
(:mod:`photosearch.core.vision.bands`) and each band is converted and reduced at once; other formats
decode whole, then are converted and reduced a strip at a time. An image that cannot fit is
refused with a clear error.

Everything here only reads; nothing ever writes to a user's file.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from photosearch.core.errors import ImageError
from photosearch.core.vision.bands import BandError, bands, png_layout

# Pillow's decompression-bomb guard stays on (its default of ~89 MP warns, twice that raises);
# we turn the warning into an error at a generous limit so that a 60000x60000 header never
# allocates gigabytes.
MAX_IMAGE_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_FILE_BYTES = 1 << 30  # no photo is bigger; a huge file is not read into memory
# Decoded pixels all decodes of the process may hold at once (PHOTOSEARCH_DECODE_BUDGET_MB).
DEFAULT_DECODE_BUDGET_MB = 512
# Reduce by a whole factor while the image stays this many times the side asked for (as the
# preprocess's resize does with reducing_gap=3): the final resize then sees the same detail.
REDUCING_GAP = 3
# Pixels converted at a time (a band, or a strip of a whole decode), and at most a quarter of
# the budget with their copies.
_STRIP_BYTES = 8 << 20
# Copies of a strip alive while it is converted (crop, RGBA, white, composite, RGB, reduced).
_STRIP_COPIES = 6

SUPPORTED_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
HEIF_EXTENSIONS = frozenset({".heic", ".heif"})

_heif_registered: bool | None = None


def heif_available() -> bool:
    """Register pillow-heif's opener once, when it is installed."""
    global _heif_registered
    if _heif_registered is None:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _heif_registered = True
        except ImportError:
            _heif_registered = False
    return _heif_registered


def supported_extensions() -> frozenset[str]:
    return SUPPORTED_EXTENSIONS | HEIF_EXTENSIONS if heif_available() else SUPPORTED_EXTENSIONS


def is_supported(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in supported_extensions()


class ImageLoadError(ImageError):
    """A file could not be read as an image. The message is meant for the user."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    taken_at: float | None  # POSIX timestamp from EXIF DateTimeOriginal, local time as UTC
    camera: str | None


def read_photo_file(path: str | os.PathLike[str]) -> tuple[bytes, os.stat_result]:
    """The bytes of a photo file, read once, after the guards every reader applies (the indexer
    and images given on the command line alike). Raises :class:`ImageLoadError` naming the file.

    Only a regular file is opened (a FIFO would block, a device never ends); it is opened
    non-blocking and checked again, in case it was swapped between the two looks. An empty file,
    one over ``MAX_FILE_BYTES`` (a 2 GB sparse ``.jpg``) or one whose first bytes are no image
    signature is refused after reading at most 32 bytes.
    """
    name = os.fsdecode(path)
    try:
        _check_regular(os.stat(path), name)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ImageLoadError(f"cannot open: {exc.strerror or exc}: {name}") from exc
    try:
        st = os.fstat(fd)
        _check_regular(st, name)
        with os.fdopen(fd, "rb", closefd=False) as f:
            head = f.read(32)
            if not looks_like_image(head):
                raise ImageLoadError(f"not an image (unrecognised file contents): {name}")
            return head + f.read(), st
    except OSError as exc:
        raise ImageLoadError(f"cannot read: {exc.strerror or exc}: {name}") from exc
    finally:
        os.close(fd)


def _check_regular(st: os.stat_result, name: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise ImageLoadError(f"is a folder, not a photo: {name}")
    if not stat.S_ISREG(st.st_mode):
        raise ImageLoadError(f"not a regular file: {name}")
    if st.st_size == 0:
        raise ImageLoadError(f"empty file (0 bytes): {name}")
    if st.st_size > MAX_FILE_BYTES:
        raise ImageLoadError(f"file too large for a photo ({st.st_size:,} bytes): {name}")


def load_photo(path: str | os.PathLike[str], min_side: int | None = None) -> Image.Image:
    """:func:`open_image` of a file given by the user, through :func:`read_photo_file`."""
    data, _ = read_photo_file(path)
    return open_image(io.BytesIO(data), min_side, name=os.fsdecode(path))


_EXIF_DATETIME_ORIGINAL = 0x9003
_EXIF_DATETIME = 0x0132
_EXIF_MAKE = 0x010F
_EXIF_MODEL = 0x0110
_EXIF_IFD = 0x8769


Source = str | os.PathLike[str] | BinaryIO


def open_image(path: Source, min_side: int | None = None, name: str | None = None) -> Image.Image:
    """Open ``path`` as an upright RGB image.

    ``min_side`` lets JPEGs decode at a reduced scale (``Image.draft``) while keeping both sides
    at least that long, which is several times faster for camera photos. Transparent images are
    composited on white; animations give their first frame.
    """
    image, _ = _decode(path, min_side, want_info=False, name=name)
    return image


def open_image_with_info(
    path: Source, min_side: int | None = None, name: str | None = None
) -> tuple[Image.Image, ImageInfo]:
    """Like :func:`open_image`, and also the full-size dimensions, capture time and camera.

    ``path`` may be an open binary file (e.g. ``BytesIO`` of bytes already read and hashed);
    ``name`` is then used in error messages.
    """
    image, info = _decode(path, min_side, want_info=True, name=name)
    assert info is not None
    return image, info


def _decode(
    source: Source, min_side: int | None, want_info: bool, name: str | None = None
) -> tuple[Image.Image, ImageInfo | None]:
    if name is None:
        name = os.fsdecode(source) if isinstance(source, (str, os.PathLike)) else "<image data>"
    opened: Any = os.fsdecode(source) if isinstance(source, (str, os.PathLike)) else source
    heif_available()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(opened) as image:
                _read_png_exif(image)
                info = _image_info(image) if want_info else None
                _check_size(image)
                if min_side and image.format == "JPEG":
                    image.draft("RGB", (min_side, min_side))
                image.seek(0)
                turn = _orientation(image)
                rgb = _decode_reduced(image, _reduce_factor(image.size, min_side))
                return (rgb if turn is None else rgb.transpose(turn)), info
    except ImageLoadError as exc:
        if name in str(exc):
            raise
        raise ImageLoadError(f"{exc}: {name}") from exc
    except FileNotFoundError as exc:
        raise ImageLoadError(f"file not found: {name}") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(f"is a folder, not a photo: {name}") from exc
    except PermissionError as exc:
        raise ImageLoadError(f"permission denied: {name}") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(f"not an image, or a format Pillow cannot read: {name}") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"image too large to decode safely ({exc}): {name}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, BandError) as exc:
        raise ImageLoadError(f"corrupt or truncated image ({exc}): {name}") from exc


# --- memory per decode -----------------------------------------------------------------------


def decode_budget_bytes() -> int:
    """The decode memory budget: ``PHOTOSEARCH_DECODE_BUDGET_MB`` MiB, else the default."""
    try:
        megabytes = float(os.environ.get("PHOTOSEARCH_DECODE_BUDGET_MB") or 0)
    except ValueError:
        megabytes = 0
    return int((megabytes if megabytes > 0 else DEFAULT_DECODE_BUDGET_MB) * 2**20)


class DecodeBudget:
    """Bytes of decoded pixels that the decodes running at a time may hold, together.

    A decode reserves what it will hold before it starts and gives it back when done; one that
    would not fit even alone is refused, one that fits waits for others to finish."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._used = 0

    @contextmanager
    def reserve(self, nbytes: int, what: str) -> Iterator[None]:
        limit = decode_budget_bytes()
        if nbytes > limit:
            raise ImageLoadError(
                f"image too large to decode within the memory budget ({what} needs "
                f"{_mib(nbytes)} MiB, the budget is {_mib(limit)} MiB: "
                f"PHOTOSEARCH_DECODE_BUDGET_MB)"
            )
        with self._cond:
            self._cond.wait_for(lambda: self._used == 0 or self._used + nbytes <= limit)
            self._used += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()

    @property
    def used(self) -> int:
        return self._used


DECODE_BUDGET = DecodeBudget()


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.0f}"


def bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow holds per pixel of ``mode`` (RGB is stored in 4, like RGBA)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _reduce_factor(size: tuple[int, int], min_side: int | None) -> int:
    """The whole factor to reduce by right after decoding, keeping ``REDUCING_GAP`` times
    ``min_side`` on the short side (1: keep the full size)."""
    if not min_side:
        return 1
    return max(1, min(size) // (min_side * REDUCING_GAP))


def _decode_reduced(image: Any, factor: int) -> Image.Image:
    """Decode the opened image and reduce it by ``factor``, as RGB, within the budget."""
    width, height = image.size
    strip_target = min(_STRIP_BYTES, decode_budget_bytes() // (4 * _STRIP_COPIES))
    rows = max(factor, strip_target // (4 * width) // factor * factor)
    strip_bytes = min(rows, height) * width * 4
    out_bytes = -(-width // factor) * -(-height // factor) * 4
    banded = bands(image, rows) if factor > 1 else None
    held = 0 if banded is not None else width * height * bytes_per_pixel(image.mode)
    need = held + out_bytes + _STRIP_COPIES * strip_bytes
    with DECODE_BUDGET.reserve(need, f"{width}x{height} {image.mode}"):
        if banded is None:
            image.load()
            if factor == 1 and image.mode == "RGB":
                return image.copy()  # the common case: a JPEG decoded at a reduced scale
            banded = _strips(image, rows)
        return _convert_and_reduce(banded, image.mode, (width, height), factor)


def _strips(image: Image.Image, rows: int) -> Iterator[Image.Image]:
    width, height = image.size
    for top in range(0, height, rows):
        yield image.crop((0, top, width, min(height, top + rows)))


_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def _convert_and_reduce(
    strips: Iterable[Image.Image], mode: str, size: tuple[int, int], factor: int
) -> Image.Image:
    """Convert each strip to RGB (16-bit: to 32-bit integers, scaled once the peak of the
    whole image is known), reduce it by ``factor``, and put it in place."""
    sixteen = mode in _SIXTEEN_BIT
    out = Image.new("I" if sixteen else "RGB", (-(-size[0] // factor), -(-size[1] // factor)))
    peak, top = 0, 0
    for strip in strips:
        if sixteen:
            work = strip if strip.mode == "I" else strip.convert("I")
            peak = max(peak, int(work.getextrema()[1]))  # type: ignore[arg-type]
        else:
            work = _to_rgb(strip)
        if factor > 1:
            work = work.reduce(factor)
        out.paste(work, (0, top))
        top += work.size[1]
    return _sixteen_bit_to_l(out, peak).convert("RGB") if sixteen else out


# Leading bytes of every format we read; anything else is rejected before being read in full.
_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
    b"II+\x00",  # BigTIFF
    b"MM\x00+",
)


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes of a file match a supported image format."""
    if head.startswith(_SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return head[4:8] == b"ftyp" and head[8:12] in {
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"heif",
        b"avif",
    }


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageLoadError(f"image has no pixels ({width}x{height})")
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageLoadError(
            f"image too large to decode safely ({width}x{height} pixels, limit {MAX_IMAGE_PIXELS:,})"
        )


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(image: Image.Image) -> Image.Transpose | None:
    """What turns the image upright (EXIF, or XMP, Orientation), read before its pixels."""
    try:
        return _TRANSPOSE.get(image.getexif().get(0x0112, 1))
    except Exception:  # a corrupt EXIF block must not lose the photo itself
        return None


def _read_png_exif(image: Any) -> None:
    """Pillow reads a PNG's EXIF once it has decoded all its pixels (``getexif`` loads the
    image): find it from the chunk headers instead, wherever it is."""
    if image.format != "PNG" or "exif" in image.info:
        return
    layout = png_layout(image.fp)
    exif = layout.exif if layout is not None else None
    image.info["exif"] = None if exif is None else b"Exif\x00\x00" + exif


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is composited on white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in _SIXTEEN_BIT:
        image = _sixteen_bit_to_l(image)
        mode = "L"
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "F":
        image = image.point(lambda v: v * 255.0).convert("L")
    return image.convert("RGB")


def _sixteen_bit_to_l(image: Image.Image, peak: int | None = None) -> Image.Image:
    """16-bit (or 32-bit integer) grey to 8 bits: values up to 255 are taken as 8-bit data."""
    array = np.asarray(image, dtype=np.float32)
    if peak is None:
        peak = int(array.max(initial=0))
    scale = 255.0 / (65535.0 if peak > 255 else 255.0)
    return Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8), "L")


def _image_info(image: Image.Image) -> ImageInfo:
    width, height = image.size
    taken_at: float | None = None
    camera: str | None = None
    try:
        exif = image.getexif()
        orientation = exif.get(0x0112)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        sub = exif.get_ifd(_EXIF_IFD)
        raw = sub.get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
        taken_at = parse_exif_datetime(raw)
        camera = _camera_name(exif.get(_EXIF_MAKE), exif.get(_EXIF_MODEL))
    except Exception:  # corrupt EXIF is common; the photo itself is still fine
        pass
    return ImageInfo(width=width, height=height, taken_at=taken_at, camera=camera)


def parse_exif_datetime(raw: object) -> float | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip().strip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            stamp = dt.datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
        if stamp.year < 1826:  # before the first photograph: a placeholder like 0000:00:00
            return None
        return stamp.replace(tzinfo=dt.timezone.utc).timestamp()
    return None


def _camera_name(make: object, model: object) -> str | None:
    make_s = make.strip().strip("\x00") if isinstance(make, str) else ""
    model_s = model.strip().strip("\x00") if isinstance(model, str) else ""
    if not make_s and not model_s:
        return None
    if make_s and model_s.lower().startswith(make_s.split()[0].lower()):
        return model_s[:120]
    return f"{make_s} {model_s}".strip()[:120]
