"""Measure where the pixel check's threshold belongs (photosearch/core/vision/pixel_check.py).

Over the dev photos (default /work/shared/data/photos-dev, one folder per class) it prints, per
pixel threshold, how many edited copies (150 photos × the six edits of
tune_duplicates_threshold.py) still pass, and how many pairs of distinct same-class photos whose
search vectors score ≥ 0.75 (the look-alikes the check must reject) pass too. Originals are only
read; edits live in memory.

    .venv/bin/python tools/tune_pixel_check.py [--photos DIR] [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from tune_duplicates_threshold import DEV, VARIANTS, make_variant  # noqa: E402

from photosearch.core.vision.imageio import open_image  # noqa: E402
from photosearch.core.vision.loader import load_encoder  # noqa: E402
from photosearch.core.vision.pixel_check import SIDE, signature_of, similarity  # noqa: E402

THRESHOLDS = (0.85, 0.88, 0.90, 0.92, 0.93, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=DEV)
    parser.add_argument("--originals", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = sorted(args.photos.glob("*/*.jpg"))
    labels = np.array([p.parent.name for p in paths])
    encoder = load_encoder()
    vectors = np.concatenate(
        [encoder.encode_paths(paths[i : i + 64]).vectors for i in range(0, len(paths), 64)]
    )
    sims = vectors @ vectors.T
    same = labels[:, None] == labels[None, :]
    ii, jj = np.nonzero(np.triu((sims >= 0.75) & same, 1))
    signatures: dict[int, object] = {}

    def sig(k: int):  # type: ignore[no-untyped-def]
        if k not in signatures:
            signatures[k] = signature_of(open_image(paths[k], 4 * SIDE))
        return signatures[k]

    distinct = np.array([similarity(sig(a), sig(b)) for a, b in zip(ii, jj)])
    rng = np.random.default_rng(args.seed)
    edits: dict[str, list[float]] = {k: [] for k in VARIANTS}
    for i in rng.choice(len(paths), min(args.originals, len(paths)), replace=False):
        image = open_image(paths[i])
        for kind in VARIANTS:
            copy, quality = make_variant(image, kind)
            buf = io.BytesIO()
            copy.save(buf, "JPEG", quality=quality)
            buf.seek(0)
            edits[kind].append(similarity(sig(int(i)), signature_of(open_image(buf, 4 * SIDE))))
    total = sum(len(v) for v in edits.values())
    print(f"{total} edited copies; {len(distinct)} distinct same-class pairs with vectors >= 0.75")
    print("  thr   edits kept   distinct pairs passing")
    for t in THRESHOLDS:
        kept = sum(int(np.sum(np.array(v) >= t)) for v in edits.values())
        print(f"  {t:.2f}  {kept / total * 100:6.2f}%     {int(np.sum(distinct >= t))}")


if __name__ == "__main__":
    main()
