"""Images: memory per decode, and images given on the command line.

* Every decode fits one memory budget (``PHOTOSEARCH_DECODE_BUDGET_MB``) shared by the threads
  of the process. PNGs and uncompressed strips decode band by band, giving the pixels of a whole
  decode; what cannot fit is refused with a clear error, and the indexer records it as the
  photo's error. The budget is set low here, so that 4000x4000 images stand in for the 14000x14000
  ones of ``benchmarks/hostile_images.py``.
* ``similar``, ``search --image``, ``tags`` and ``classify`` apply the indexer's guards to
  their image files (a FIFO is never opened, a 2 GB sparse file never read), and a word-vector
  header that cannot be true is a clear error: exit status 2, no traceback.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLE, copy_sample
from PIL import Image

from photosearch.core.vision import imageio
from photosearch.core.vision.bands import bands
from photosearch.core.vision.imageio import ImageLoadError, open_image, open_image_with_info

REPO = Path(__file__).parent.parent
BUDGET_MB = 32


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("PHOTOSEARCH_DECODE_BUDGET_MB", str(BUDGET_MB))
    return BUDGET_MB << 20


def smooth(size: tuple[int, int], channels: int, seed: int = 0) -> np.ndarray:
    """Gradients with a little noise: realistic row filters, and small files."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    planes = [(x * 0.3 + y * (0.2 + k / 7) + k * 50) % 256 + rng.integers(0, 9, y.shape) for k in range(channels)]  # fmt: skip
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def image_of(mode: str, size: tuple[int, int]) -> Image.Image:
    if mode == "I;16":
        image = Image.fromarray(smooth(size, 1)[..., 0].astype(np.uint16) * 251)
        assert image.mode == "I;16"
        return image
    if mode == "P":  # a palette image with a transparent entry
        image = Image.fromarray(smooth(size, 3)).convert("P", colors=64)
        image.info["transparency"] = 3
        return image
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    array = smooth(size, channels)
    return Image.fromarray(array[..., 0] if channels == 1 else array, mode)


def save(image: Image.Image, path: Path, **options: object) -> Path:
    if image.mode == "P" and "transparency" in image.info:
        options.setdefault("transparency", image.info["transparency"])
    image.save(path, **options)  # type: ignore[arg-type]
    return path


def whole_then_reduced(path: Path, factor: int) -> np.ndarray:
    """What a decode gives when it holds every pixel: the whole image, converted, reduced."""
    with Image.open(path) as image:
        image.load()
        return np.asarray(imageio._to_rgb(image).reduce(factor)).astype(int)


# --- memory per decode -----------------------------------------------------------------------


BANDED = [
    ("RGB", "png", {}),
    ("RGBA", "png", {}),
    ("L", "png", {}),
    ("LA", "png", {}),
    ("P", "png", {}),
    ("I;16", "png", {}),
    ("RGB", "tif", {}),  # uncompressed strips
    ("L", "tif", {}),
    ("RGB", "bmp", {}),  # bottom-up rows
    ("P", "bmp", {}),
]


@pytest.mark.parametrize(("mode", "suffix", "options"), BANDED)
def test_band_decodes_give_the_pixels_of_a_whole_decode(
    tmp_path, monkeypatch, mode, suffix, options
):
    monkeypatch.setattr(imageio, "_STRIP_BYTES", 48 << 10)  # many bands, each boundary checked
    path = save(image_of(mode, (1000, 700)), tmp_path / f"image.{suffix}", **options)
    min_side = 100  # a reduction by 700 // 300 = 2
    with Image.open(path) as opened:
        assert bands(opened, 8) is not None, "this file should decode in bands"
    got = np.asarray(open_image(path, min_side)).astype(int)
    expected = whole_then_reduced(path, 2)
    assert got.shape == expected.shape == (350, 500, 3)
    assert np.abs(got - expected).max() <= (1 if mode == "I;16" else 0)


def test_a_png_whose_exif_follows_its_pixels_still_decodes_upright_in_bands(tmp_path):
    """Pillow reads such EXIF only after decoding every pixel; the bands find it first."""
    path = save(image_of("RGB", (900, 600)), tmp_path / "turned.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    data = path.read_bytes()
    iend = data.rindex(b"IEND") - 4
    payload = exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    path.write_bytes(data[:iend] + chunk + data[iend:])
    image, info = open_image_with_info(path, 100)
    assert image.size == (300, 450) and (info.width, info.height) == (600, 900)
    expected = np.rot90(whole_then_reduced(path, 2), k=-1)
    assert np.array_equal(np.asarray(image).astype(int), expected)


@pytest.mark.parametrize("cut", [0.5, 0.98])
def test_a_cut_short_png_read_in_bands_is_an_error_not_a_crash(tmp_path, cut):
    path = save(image_of("RGBA", (1000, 700)), tmp_path / "cut.png")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with Image.open(path) as opened:
        assert bands(opened, 8) is not None
    with pytest.raises(ImageLoadError, match="corrupt or truncated image"):
        open_image(path, 100)


RSS_SCRIPT = """
import os, resource, sys
os.environ["PHOTOSEARCH_DECODE_BUDGET_MB"] = sys.argv[2]
from photosearch.core.vision.imageio import open_image
open_image(sys.argv[3], 64)  # plugins and code paths warmed up on a small image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = open_image(sys.argv[1], 224)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(image.size, (after - before) // 1024)
"""


@pytest.mark.parametrize("mode", ["RGBA", "I;16"])
def test_a_big_png_decodes_within_the_budget(tmp_path, mode):
    """Measured, in a fresh process: a 4000x4000 PNG (64 MB of RGBA pixels; a whole decode
    with its conversions took ~250 MB) grows the peak RSS by less than the budget."""
    big = save(image_of(mode, (4000, 4000)), tmp_path / "big.png")
    warm = save(image_of(mode, (300, 300)), tmp_path / "warm.png")
    run = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(big), str(BUDGET_MB), str(warm)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert run.returncode == 0, run.stderr
    size, grown_mb = run.stdout.rsplit(")", 1)
    assert size.strip() == "(800, 800"  # reduced by 4000 // (224 * 3) = 5
    assert int(grown_mb) < BUDGET_MB, f"peak RSS grew by {grown_mb} MB"


def compressed_tiff(path: Path, side: int = 4000) -> Path:
    """A TIFF Pillow must decode whole (LZW: no uncompressed strips to read band by band)."""
    return save(image_of("RGB", (side, side)), path, compression="tiff_lzw")


def test_what_cannot_fit_the_budget_is_refused_clearly(tmp_path, small_budget):
    tiff = compressed_tiff(tmp_path / "big.tif")
    with pytest.raises(ImageLoadError) as refused:
        open_image(tiff, 224)
    message = str(refused.value)
    assert "too large to decode within the memory budget" in message
    assert "4000x4000 RGB needs" in message and "the budget is 32 MiB" in message
    assert "PHOTOSEARCH_DECODE_BUDGET_MB" in message and str(tiff) in message
    png = save(image_of("RGB", (4000, 4000)), tmp_path / "big.png")
    assert open_image(png, 224).size == (800, 800)  # in bands: fits
    with pytest.raises(ImageLoadError, match="memory budget"):
        open_image(png)  # asked for every pixel: 64 MB cannot fit in 32


def test_the_indexer_records_a_refused_photo_and_goes_on(tmp_path, small_budget, tiny_encoder):
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library

    photos = tmp_path / "photos"
    copy_sample(photos, ["dog"], per_class=2)
    compressed_tiff(photos / "huge-scan.tif")
    save(image_of("RGBA", (4000, 4000)), photos / "huge.png")
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(photos)
        summary = Indexer(library, tiny_encoder, decode_workers=2).run()
        rows = library.reader().query("SELECT path, status, error FROM photos ORDER BY path")
    by_name = {Path(os.fsdecode(p)).name: (status, error) for p, status, error in rows}
    assert summary.embedded == 3 and summary.errors == 1
    status, error = by_name["huge-scan.tif"]
    assert status == "error" and "too large to decode within the memory budget" in error
    assert by_name["huge.png"] == ("indexed", None)


def test_decode_workers_share_one_budget(tmp_path, small_budget, tiny_encoder, monkeypatch):
    """Six photos that each need more than half the budget: four workers decode them one at a
    time, and all are indexed."""
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library

    class Watched(imageio.DecodeBudget):
        most = 0

        def reserve(self, nbytes, what):  # type: ignore[no-untyped-def,override]
            Watched.most = max(Watched.most, nbytes)
            return super().reserve(nbytes, what)

    budget = Watched()
    seen: list[int] = []
    real_assemble = imageio._convert_and_reduce

    def assemble(*args):  # type: ignore[no-untyped-def]
        seen.append(budget.used)  # what all decodes hold while this one converts
        return real_assemble(*args)

    monkeypatch.setattr(imageio, "DECODE_BUDGET", budget)
    monkeypatch.setattr(imageio, "_convert_and_reduce", assemble)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        compressed_tiff(photos / f"scan-{i}.tif", side=1700)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(photos)
        summary = Indexer(library, tiny_encoder, decode_workers=4).run()
    assert summary.embedded == 6 and summary.errors == 0
    assert Watched.most > small_budget // 2  # each decode needs more than half
    assert len(seen) == 6 and max(seen) <= small_budget  # so none ever overlapped
    assert budget.used == 0


# --- images given on the command line --------------------------------------------------------


CLI_SCRIPT = """
import contextlib, io, json, sys
from photosearch.cli import main
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    print(json.dumps({"argv": argv, "rc": rc, "stderr": err.getvalue()}), flush=True)
"""


def make_sparse(path: Path, size: int, head: bytes = b"\xff\xd8\xff\xe0") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def tiny_library(tmp_path: Path, tiny_encoder: object) -> Path:
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library

    photos = tmp_path / "photos"
    copy_sample(photos, ["dog"], per_class=2)
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.add_folder(photos)
        Indexer(library, tiny_encoder).run()  # type: ignore[arg-type]
    return db


def test_command_line_images_go_through_the_indexers_guards(tmp_path, tiny_encoder):
    """Before: ``similar fifo.jpg`` hung, a 2 GB sparse ``.jpg`` was read for minutes, and a
    word-vector header of "1000000000000 1000" ended in MemoryError, exit status 1."""
    db = str(tiny_library(tmp_path, tiny_encoder))
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    sparse = make_sparse(tmp_path / "sparse.jpg", 2 << 30)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    scan = compressed_tiff(tmp_path / "scan.tif")
    huge_header = tmp_path / "vectors.txt"
    huge_header.write_text("1000000000000 1000\nking " + " ".join(["0.1"] * 1000) + "\n")
    photo = str(SAMPLE / "dog" / "image_0001.jpg")
    cases = [
        (["classify", str(fifo), str(sparse), str(folder), str(scan)], [
            f"not a regular file: {fifo}", f"file too large for a photo (2,147,483,648 bytes): {sparse}",
            f"is a folder, not a photo: {folder}", "too large to decode within the memory budget"]),
        (["similar", str(fifo), "--db", db], [f"cannot read image: not a regular file: {fifo}"]),
        (["search", "--image", str(sparse), "--db", db], ["file too large for a photo"]),
        (["tags", str(fifo), "--db", db], [f"cannot read image: not a regular file: {fifo}"]),
        (["tags", photo, "--db", db, "--word-vectors", str(huge_header)], [
            "the header announces 1,000,000,000,000 vectors of 1,000 dimensions"]),
    ]  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, json.dumps([argv for argv, _ in cases])],
        capture_output=True,
        text=True,
        timeout=300,  # a FIFO opened for reading would block for ever
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "PHOTOSEARCH_DECODE_BUDGET_MB": "32"},
    )
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) == len(cases), run.stderr
    for (_, fragments), result in zip(cases, results):
        assert result["rc"] == 2, result
        assert "Traceback" not in result["stderr"], result
        for fragment in fragments:
            assert fragment in result["stderr"], (fragment, result)


@pytest.mark.parametrize(
    ("content", "binary", "fragment"),
    [
        (b"1000000000000 1000\nking 0.1 0.2\n", False, "1,000,000,000,000 vectors"),
        (b"50000000 300\n" + b"king " + b"\x00" * 1200 + b"\n", True, "the file holds"),
        (b"3 0\nking\nqueen\nman\n", False, "of 0 dimensions"),
        (b"10 9999999\nking 0.1\n", False, "of 9,999,999 dimensions"),
    ],
)
def test_word_vector_headers_that_cannot_be_true_are_refused(tmp_path, content, binary, fragment):
    from photosearch.core.text.wordspace import WordSpace, WordSpaceError

    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    path.write_bytes(content)
    with pytest.raises(WordSpaceError, match=fragment.replace("(", r"\(")):
        WordSpace.load(path)
    packed = tmp_path / "vectors.txt.gz"
    packed.write_bytes(_gzip(content))
    with pytest.raises(WordSpaceError):
        WordSpace.load(packed)


def _gzip(data: bytes) -> bytes:
    import gzip

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as f:
        f.write(data)
    return buffer.getvalue()
