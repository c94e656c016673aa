"""Second opinion for near-duplicate candidates: do the two photos look alike pixel for pixel?

The search vectors bring photos of the same kind of thing together, which is what search wants
but not what duplicate finding wants: two different side views of a car score as high as a photo
and its re-encoded copy. This check compares small grey thumbnails instead (24×24, normalised
cross-correlation), allowing for the edits copies go through: resizing, re-encoding and
brightness change barely move it; a mirror image and crops of up to 10% at any edge are tried
explicitly. Measured on 150 dev photos × 6 edits (resize 50%, JPEG quality 30, 10% crop,
brightness ±20%, mirror) against the 690 pairs of distinct same-class dev photos whose vectors
score ≥ 0.75 (docs/benchmarks.md, "Duplicates"): at 0.92 every edited copy passes and 5 distinct
pairs do, three of them byte-for-byte re-uploads inside Caltech-101 itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from photosearch.core.vision.imageio import ImageLoadError, open_image

SIDE = 24
CROP = 0.10
PIXEL_THRESHOLD = 0.92  # every edited copy above it; 5 of 690 look-alike pairs


@dataclass(frozen=True)
class Signature:
    views: np.ndarray  # (6, SIDE*SIDE): the whole photo and five 10% crops, zero-mean unit-norm
    mirror: np.ndarray  # (SIDE*SIDE,): the whole photo mirrored

    @property
    def whole(self) -> np.ndarray:
        return self.views[0]


def _vector(image: Image.Image) -> np.ndarray:
    grey = np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BOX), np.float32).ravel()
    grey -= grey.mean()
    return grey / (float(np.linalg.norm(grey)) + 1e-6)


def signature_of(image: Image.Image) -> Signature:
    grey = image.convert("L")
    w, h = grey.size
    dx, dy = int(w * CROP), int(h * CROP)
    boxes = [
        (0, 0, w, h),
        (dx, dy, w, h),
        (0, 0, w - dx, h - dy),
        (dx, 0, w, h - dy),
        (0, dy, w - dx, h),
        (dx // 2, dy // 2, w - dx // 2, h - dy // 2),
    ]
    views = np.stack([_vector(grey.crop(box)) for box in boxes])
    return Signature(views, _vector(ImageOps.mirror(grey)))


def signature(path: str | os.PathLike[str]) -> Signature | None:
    """The photo's signature, or None when it cannot be read (then only the vectors decide)."""
    try:
        return signature_of(open_image(path, min_side=4 * SIDE))
    except (ImageLoadError, OSError, ValueError):
        return None


def similarity(a: Signature, b: Signature) -> float:
    """Best correlation over: either photo cropped by up to 10% against the other, or mirrored."""
    targets_b = np.stack([b.whole, b.mirror])
    targets_a = np.stack([a.whole, a.mirror])
    return float(max((a.views @ targets_b.T).max(), (b.views @ targets_a.T).max()))


def signatures(paths: Sequence[str], workers: int | None = None) -> list[Signature | None]:
    """Signatures of many photos, decoded in parallel (Pillow releases the GIL)."""
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="photosearch-pixels") as pool:
        return list(pool.map(signature, paths))


def verify_pairs(
    paths: Sequence[str], pairs: Iterable[tuple[int, int]], threshold: float = PIXEL_THRESHOLD
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Split pairs of indices into ``paths`` into (look alike, could not be checked)."""
    pairs = list(pairs)
    needed = sorted({k for pair in pairs for k in pair})
    sigs = dict(zip(needed, signatures([paths[k] for k in needed]), strict=True))
    alike, unchecked = [], []
    for i, j in pairs:
        a, b = sigs[i], sigs[j]
        if a is None or b is None:
            unchecked.append((i, j))
        elif similarity(a, b) >= threshold:
            alike.append((i, j))
    return alike, unchecked
