"""Decode an image in horizontal bands, so that a reduced decode never holds all its pixels.

Pillow decodes a PNG or an uncompressed TIFF/BMP whole, at full size: 784 MB for a 14000x14000
RGB PNG of half a megabyte, when the model needs 300x300. Both formats store rows top to bottom,
so a band of rows can be decoded on its own:

* **PNG** (not interlaced, 8-bit samples or 16-bit grey): the pixel data is inflated as a
  stream; each band's filtered rows are wrapped in a small PNG of their own, preceded by the
  band's previous row already decoded (filter type 0), which is all PNG's row filters look at.
  Pillow decodes that small PNG, with the palette and transparency of the original.
* **Uncompressed strips** (TIFF, BMP, PPM, ...: Pillow's ``raw`` tiles): the rows of a band
  are read straight from their offset in the file.

Anything else (compressed TIFF, WebP, GIF, interlaced PNG) is decoded whole by the caller, under
the decode memory budget (:mod:`photosearch.core.vision.imageio`).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG raw modes whose decoded pixels give the stored bytes back exactly (``tobytes``): the
# previous row of a band can be rebuilt from them. 16-bit colour is reduced to 8 bits by Pillow.
_LOSSLESS_PNG_RAWMODES = frozenset({"L", "LA", "RGB", "RGBA", "P", "I;16B"})
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_READ = 1 << 20


class BandError(Exception):
    """The file's pixel data is corrupt or cut short."""


Bands = Iterator[Image.Image]


def bands(image: Any, rows: int) -> Bands | None:
    """Successive bands of ``rows`` rows (the last may be shorter) of an opened, not yet loaded
    image, decoded one at a time; ``None`` when its format cannot be read in bands. Raises
    :class:`BandError` (while iterating) on corrupt pixel data."""
    if image.format == "PNG":
        layout = png_layout(image.fp)
        if layout is not None and layout.bandable(image):
            return _png_bands(image, layout, rows)
        return None
    if _raw_strips(image):
        return _raw_bands(image, rows)
    return None


# --- PNG -------------------------------------------------------------------------------------


@dataclass
class PngLayout:
    """Where things are in a PNG file, from its chunk headers (no pixel data read)."""

    header: bytes  # IHDR payload
    palette: bytes | None = None  # PLTE payload
    transparency: bytes | None = None  # tRNS payload
    exif: bytes | None = None  # eXIf payload, wherever it is (Pillow reads it after the pixels)
    idat: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) of IDAT data

    @property
    def width(self) -> int:
        return int(struct.unpack(">I", self.header[:4])[0])

    @property
    def height(self) -> int:
        return int(struct.unpack(">I", self.header[4:8])[0])

    @property
    def row_bytes(self) -> int:
        """Bytes per stored row, its filter-type byte included."""
        depth, colour = self.header[8], self.header[9]
        return 1 + (self.width * _CHANNELS.get(colour, 1) * depth + 7) // 8

    def bandable(self, image: Any) -> bool:
        tile = image.tile
        return (
            len(self.header) == 13
            and self.header[12] == 0  # not interlaced
            and bool(self.idat)
            and len(tile) == 1
            and tile[0].codec_name == "zip"
            and tile[0].args in _LOSSLESS_PNG_RAWMODES
        )


def png_layout(fp: IO[bytes]) -> PngLayout | None:
    """The chunk layout of the PNG in ``fp`` (its position is kept); None if it is not one."""
    start = fp.tell()
    try:
        fp.seek(0)
        if fp.read(8) != PNG_SIGNATURE:
            return None
        layout: PngLayout | None = None
        while True:
            head = fp.read(8)
            if len(head) < 8:
                break
            length, kind = struct.unpack(">I", head[:4])[0], head[4:]
            position = fp.tell()
            if kind == b"IHDR":
                layout = PngLayout(fp.read(length))
            elif layout is None:
                return None
            elif kind == b"IDAT":
                layout.idat.append((position, length))
            elif kind in (b"PLTE", b"tRNS", b"eXIf"):
                data = fp.read(length)
                if kind == b"PLTE":
                    layout.palette = data
                elif kind == b"tRNS":
                    layout.transparency = data
                else:
                    layout.exif = data
            elif kind == b"IEND":
                break
            fp.seek(position + length + 4)  # past the data and the CRC
        return layout
    finally:
        fp.seek(start)


def _png_bands(image: Any, layout: PngLayout, rows: int) -> Bands:
    rawmode: str = image.tile[0].args
    width, height, row_bytes = layout.width, layout.height, layout.row_bytes
    stream = _inflate(image.fp, layout.idat)
    pending = bytearray()
    previous: bytes | None = None  # the last decoded row of the band before, as stored bytes
    for top in range(0, height, rows):
        count = min(rows, height - top)
        while len(pending) < count * row_bytes:
            piece = next(stream, None)
            if piece is None:
                raise BandError(f"the pixel data ends at row {top + len(pending) // row_bytes}")
            pending += piece
        filtered = bytes(pending[: count * row_bytes])
        del pending[: count * row_bytes]
        prefix = b"" if previous is None else b"\x00" + previous
        band = _decode_png(layout, width, count + (previous is not None), prefix + filtered)
        if previous is not None:
            band = band.crop((0, 1, width, count + 1))
        previous = band.crop((0, count - 1, width, count)).tobytes("raw", rawmode)
        yield band


def _inflate(fp: IO[bytes], idat: list[tuple[int, int]]) -> Iterator[bytes]:
    """The inflated pixel data of the IDAT chunks, in pieces of at most ``_READ`` bytes."""
    inflater = zlib.decompressobj()
    try:
        for offset, length in idat:
            fp.seek(offset)
            left = length
            while left > 0:
                data = fp.read(min(left, _READ))
                if not data:
                    return
                left -= len(data)
                while data:
                    yield inflater.decompress(data, _READ)
                    data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as exc:
        raise BandError(f"the compressed pixel data is damaged ({exc})") from exc


def _decode_png(layout: PngLayout, width: int, height: int, raw: bytes) -> Image.Image:
    """Decode rows of stored (filtered) PNG data with the original's header, palette and
    transparency, as a PNG of their own."""
    header = struct.pack(">II", width, height) + layout.header[8:]
    parts = [PNG_SIGNATURE, _chunk(b"IHDR", header)]
    if layout.palette is not None:
        parts.append(_chunk(b"PLTE", layout.palette))
    if layout.transparency is not None:
        parts.append(_chunk(b"tRNS", layout.transparency))
    parts += [_chunk(b"IDAT", zlib.compress(raw, 1)), _chunk(b"IEND", b"")]
    band = Image.open(io.BytesIO(b"".join(parts)))
    band.load()
    return band


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- uncompressed strips ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Strip:
    top: int
    bottom: int
    offset: int
    rawmode: str
    stride: int
    ystep: int


def _raw_strips(image: Any) -> list[_Strip]:
    """The image's rows as uncompressed full-width strips, or [] if it is not stored so."""
    width = image.size[0]
    strips = []
    for tile in image.tile:
        x0, top, x1, bottom = tile.extents
        args = (tile.args,) if isinstance(tile.args, str) else tuple(tile.args or ())
        if tile.codec_name != "raw" or (x0, x1) != (0, width) or not args:
            return []
        rawmode, stride, ystep = (*args, 0, 1)[:3]
        try:  # the packer gives the stored size of 8 pixels, and proves the raw mode plain
            per_8 = len(Image.new(image.mode, (8, 1)).tobytes("raw", rawmode))
        except (ValueError, OSError):
            return []
        stride = stride or -(-width * per_8 // 8)
        strips.append(_Strip(top, bottom, tile.offset, rawmode, stride, ystep or 1))
    strips.sort(key=lambda s: s.top)
    covered = 0
    for strip in strips:
        if strip.top != covered:
            return []
        covered = strip.bottom
    return strips if covered == image.size[1] else []


def _raw_bands(image: Any, rows: int) -> Bands:
    width, height = image.size
    strips = _raw_strips(image)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        band = Image.new(image.mode, (width, bottom - top))
        for strip in strips:
            first, last = max(top, strip.top), min(bottom, strip.bottom)
            if first < last:
                band.paste(_read_rows(image, strip, first, last), (0, first - top))
        if image.mode == "P" and image.palette is not None:
            palette = image.palette  # as stored (BMP: BGRX) until the image is loaded
            band.putpalette(palette.palette, palette.rawmode or palette.mode)
        if "transparency" in image.info:
            band.info["transparency"] = image.info["transparency"]
        yield band


def _read_rows(image: Any, strip: _Strip, first: int, last: int) -> Image.Image:
    """Rows ``first`` to ``last`` (exclusive) of a strip; a bottom-up strip (BMP) stores its
    last row first."""
    count = last - first
    stored = first - strip.top if strip.ystep > 0 else strip.bottom - last
    image.fp.seek(strip.offset + stored * strip.stride)
    data = image.fp.read(count * strip.stride)
    if len(data) < count * strip.stride:
        raise BandError("the pixel data is cut short")
    size = (image.size[0], count)
    return Image.frombytes(image.mode, size, data, "raw", strip.rawmode, strip.stride, strip.ystep)
