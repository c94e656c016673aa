"""Choose the encoder's crop policy by retrieval quality: leave-one-out image→image P@10.

    python benchmarks/crop_policy.py [PHOTOS_DIR]   (default: ../shared/data/photos-dev)

"center": shorter side to 256, centre crop 224 (the ImageNet training view).
"whole":  the whole photo squashed to 224x224 (nothing cut off).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from photosearch.core.vision.loader import load_encoder


def precision_at_10(vectors: np.ndarray, labels: np.ndarray) -> float:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :10]
    return float((labels[top] == labels[:, None]).mean())


def main() -> None:
    root = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared/data/photos-dev"
    )
    paths = sorted(root.glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no photos under {root}")
    labels = np.array([p.parent.name for p in paths])
    print(f"{len(paths)} photos, {len(set(labels))} classes")
    for crop in ("center", "whole"):
        encoder = load_encoder(crop=crop)
        started = time.perf_counter()
        chunks = [encoder.encode_paths(paths[i : i + 32]) for i in range(0, len(paths), 32)]
        vectors = np.concatenate([c.vectors for c in chunks])
        features = np.concatenate([c.features for c in chunks])
        print(
            f"{crop:7s} P@10 search vectors (svd256) {precision_at_10(vectors, labels):.4f}   "
            f"full 1280-d features {precision_at_10(features, labels):.4f}   "
            f"({time.perf_counter() - started:.0f} s)"
        )


if __name__ == "__main__":
    main()
