"""The desktop-integration assets: icon PNGs, the .desktop entry, the AppStream metainfo, and the
user-level install script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
LINUX = ROOT / "resources" / "linux"
APP_ID = "io.github.photosearch.Photosearch"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def png(size: int) -> Path:
    return ICONS / "hicolor" / f"{size}x{size}" / "apps" / "photosearch.png"


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_has_size_and_content(size: int) -> None:
    path = png(size)
    assert path.is_file(), f"missing {path}; run packaging/render_icons.py"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    opaque = sum(alpha.histogram()[128:])
    assert opaque > 0.5 * size * size, "icon is mostly transparent"
    assert alpha.getpixel((0, 0)) < 128, "corners should be transparent (rounded tile)"
    colours = rgba.convert("RGB").getcolors(maxcolors=size * size)
    assert colours is not None and len(colours) >= 6, "icon looks blank or flat"
    # Not one dominant colour either: the biggest colour covers less than 80 % of the pixels.
    assert max(count for count, _ in colours) < 0.8 * size * size


def test_svg_sources_are_present() -> None:
    for name in ("photosearch.svg", "photosearch-small.svg"):
        text = (ICONS / name).read_text(encoding="utf-8")
        assert "<svg" in text and 'viewBox="0 0 512 512"' in text


def test_windows_and_macos_icons_exist() -> None:
    with Image.open(ICONS / "photosearch.ico") as ico:
        assert ico.format == "ICO"
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(ICONS / "photosearch.icns") as icns:
        assert icns.format == "ICNS"


def test_rendered_icons_are_up_to_date() -> None:
    pytest.importorskip("PySide6.QtSvg")
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    if result.returncode != 0 and "stale or missing" not in result.stdout:
        pytest.skip(f"could not render the SVG here: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stdout


def desktop_entry() -> dict[str, str]:
    entry: dict[str, str] = {}
    lines = DESKTOP.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    for line in lines[1:]:
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entry[key] = value
    return entry


def test_desktop_entry_contents() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "photosearch-gui %U"
    assert entry["Icon"] == "photosearch"
    assert entry["Categories"] == "Graphics;Photography;Viewer;"
    mime = entry["MimeType"].split(";")
    assert "image/jpeg" in mime and "image/png" in mime and "inode/directory" in mime


def test_desktop_entry_validates() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (Debian: desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower(), result.stdout


def test_metainfo_validates() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli not installed (Debian: appstream)")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_contents() -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    assert root.find("description") is not None
    assert root.find("content_rating") is not None
    assert root.find("screenshots/screenshot/image") is not None
    versions = [r.get("version") for r in root.findall("releases/release")]
    assert "0.1.0" in versions


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell script")
def test_install_desktop_entry_script_round_trip(tmp_path: Path) -> None:
    script = ROOT / "packaging" / "install-desktop-entry.sh"
    data_home = tmp_path / "share"
    fake_gui = tmp_path / "bin" / "photosearch-gui"
    fake_gui.parent.mkdir()
    fake_gui.write_text("#!/bin/sh\nexit 0\n")
    fake_gui.chmod(0o755)

    def run(*args: str) -> None:
        subprocess.run(
            ["sh", str(script), "--data-home", str(data_home), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    run("--exec", str(fake_gui))
    installed = data_home / "applications" / f"{APP_ID}.desktop"
    text = installed.read_text(encoding="utf-8")
    assert f"Exec={fake_gui} %U" in text
    assert (data_home / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (data_home / "icons" / "hicolor" / "scalable" / "apps" / "photosearch.svg").is_file()
    for size in SIZES:
        assert (
            data_home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "photosearch.png"
        ).is_file()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(installed)], check=True, timeout=60)

    run("--uninstall")
    leftovers = [p for p in data_home.rglob("*") if p.is_file() and p.name != "mimeinfo.cache"]
    assert leftovers == []
