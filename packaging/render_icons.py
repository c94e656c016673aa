"""Render the application icon's PNG sizes (and Windows/macOS icon files) from the SVG.

    python packaging/render_icons.py            # writes resources/icons/hicolor/<N>x<N>/apps/photosearch.png
                                                #   plus resources/icons/photosearch.ico / .icns
    python packaging/render_icons.py --check    # exit 1 if any rendered file is missing or stale

Uses QtSvg from PySide6-Essentials (already a dependency) with the offscreen Qt platform, so it
needs no display and no extra packages. Run it again whenever ``resources/icons/photosearch.svg``
or ``photosearch-small.svg`` (the 16 and 24 px drawing) changes, and commit the results.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG = ICONS / "photosearch.svg"
# A simplified drawing (thicker strokes, no shadows or highlights) for the tiny sizes, where the
# full drawing turns to mush.
SMALL_SVG = ICONS / "photosearch-small.svg"
SMALL_MAX = 24
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "photosearch.png"


def render_png(svg: Path, size: int) -> bytes:
    """Render ``svg`` to a ``size``x``size`` RGBA PNG and return its bytes."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot parse {svg}")
    # Render at 4x and scale down smoothly: crisper small sizes than rendering directly.
    factor = 4 if size <= 64 else 2 if size <= 256 else 1
    big = QImage(size * factor, size * factor, QImage.Format.Format_ARGB32_Premultiplied)
    big.fill(0)
    painter = QPainter(big)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size * factor, size * factor))
    painter.end()
    image = big.scaled(size, size, mode=_smooth()) if factor != 1 else big
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise SystemExit(f"cannot encode {size}px PNG")
    buffer.close()
    return bytes(data.data())


def _smooth():
    from PySide6.QtCore import Qt

    return Qt.TransformationMode.SmoothTransformation


def render_all() -> dict[Path, bytes]:
    """Every output file and its content."""
    from PIL import Image

    outputs: dict[Path, bytes] = {}
    pngs = {size: render_png(SMALL_SVG if size <= SMALL_MAX else SVG, size) for size in SIZES}
    for size, data in pngs.items():
        outputs[png_path(size)] = data
    images = {size: Image.open(io.BytesIO(data)).convert("RGBA") for size, data in pngs.items()}

    ico = io.BytesIO()
    images[256].save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != 256],
    )
    outputs[ICONS / "photosearch.ico"] = ico.getvalue()

    icns = io.BytesIO()
    images[512].save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES[:-1]])
    outputs[ICONS / "photosearch.icns"] = icns.getvalue()
    return outputs


# Qt's rasteriser rounds a few anti-aliased edge pixels differently from one release to the next;
# a difference of this many levels per channel is not a stale icon.
PIXEL_TOLERANCE = 2


def _same_picture(old: bytes, new: bytes) -> bool:
    """Same bytes, or the same format and size with pixels within PIXEL_TOLERANCE (for .ico and
    .icns, their largest image)."""
    if old == new:
        return True
    import numpy as np
    from PIL import Image

    try:
        a, b = Image.open(io.BytesIO(old)), Image.open(io.BytesIO(new))
        if a.format != b.format or a.size != b.size:
            return False
        diff = np.abs(
            np.asarray(a.convert("RGBA"), np.int16) - np.asarray(b.convert("RGBA"), np.int16)
        )
    except OSError:
        return False
    return int(diff.max()) <= PIXEL_TOLERANCE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report missing or stale files (exit 1)"
    )
    args = parser.parse_args(argv)

    outputs = render_all()
    stale = []
    for path, data in outputs.items():
        if path.exists() and _same_picture(path.read_bytes(), data):
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path in stale:
        verb = "stale or missing" if args.check else "wrote"
        print(f"{verb}: {path.relative_to(ROOT)}")
    if not stale:
        print("icons up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
