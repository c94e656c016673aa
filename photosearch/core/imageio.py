"""Decode photos safely and quickly: reduced-size JPEG decode, EXIF orientation, any pixel mode.

Everything here only reads; nothing ever writes to a user's file.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

# Pillow's decompression-bomb guard stays on (its default of ~89 MP warns, twice that raises);
# we turn the warning into an error at a generous limit so that a 60000x60000 header never
# allocates gigabytes.
MAX_IMAGE_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False

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
            from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

            register_heif_opener()
            _heif_registered = True
        except ImportError:
            _heif_registered = False
    return _heif_registered


def supported_extensions() -> frozenset[str]:
    return SUPPORTED_EXTENSIONS | HEIF_EXTENSIONS if heif_available() else SUPPORTED_EXTENSIONS


def is_supported(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in supported_extensions()


class ImageLoadError(Exception):
    """A file could not be read as an image. The message is meant for the user."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    taken_at: float | None  # POSIX timestamp from EXIF DateTimeOriginal, local time as UTC
    camera: str | None


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
                info = _image_info(image) if want_info else None
                _check_size(image)
                if min_side and image.format == "JPEG":
                    image.draft("RGB", (min_side, min_side))
                image.seek(0)
                image.load()
                upright = _apply_orientation(image)
                return _to_rgb(upright), info
    except ImageLoadError:
        raise
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
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageLoadError(f"corrupt or truncated image ({exc}): {name}") from exc


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


def _apply_orientation(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a corrupt EXIF block must not lose the photo itself
        return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is composited on white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I"}:
        image = _sixteen_bit_to_l(image)
        mode = "L"
    if mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "F":
        image = image.point(lambda v: v * 255.0).convert("L")
    return image.convert("RGB")


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    import numpy as np

    array = np.asarray(image, dtype=np.float32)
    peak = 65535.0 if array.max(initial=0) > 255 else 255.0
    return Image.fromarray(np.clip(array * (255.0 / peak), 0, 255).astype(np.uint8), "L")


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
