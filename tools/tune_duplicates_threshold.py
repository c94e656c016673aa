"""Measure where the near-duplicate threshold belongs.

For every photo of a dev set (default: the 900 photos in /work/shared/data/photos-dev, one folder
per class) this writes six edited copies into a temporary folder — resized to 50%, re-saved at JPEG
quality 30, cropped by 10% (left and top edges), brightened and darkened by 20%, mirrored — and
encodes originals and copies with the real model, through the same decode path as the indexer.

It then prints the cosine-similarity distribution of

* variant pairs: (original, its edited copy), per kind of edit — these must group;
* same-class distinct pairs: two different photos of the same class — these must not;

and the thresholds that separate them. The originals are only read.

    .venv/bin/python tools/tune_duplicates_threshold.py [--photos DIR] [--cache vectors.npz]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

DEV = Path("/work/shared/data/photos-dev")
VARIANTS = ("resize50", "jpeg30", "crop10", "bright+20", "bright-20", "flip")


def make_variant(image: Image.Image, kind: str) -> tuple[Image.Image, int]:
    """An edited copy of an RGB image and the JPEG quality to save it with."""
    w, h = image.size
    if kind == "resize50":
        return image.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), 90
    if kind == "jpeg30":
        return image, 30
    if kind == "crop10":
        return image.crop((w // 10, h // 10, w, h)), 90
    if kind == "bright+20":
        return ImageEnhance.Brightness(image).enhance(1.2), 90
    if kind == "bright-20":
        return ImageEnhance.Brightness(image).enhance(0.8), 90
    if kind == "flip":
        return ImageOps.mirror(image), 90
    raise ValueError(kind)


def write_variants(original: Path, dest: Path, min_side: int = 0) -> tuple[Path, list[Path]]:
    """Save the six variants of ``original`` under ``dest``: (the original used, the variants).

    With ``min_side``, a smaller original is first upscaled to it (and saved, as the original):
    camera photos are far larger than the network input, the 300 px dev photos are not, and
    halving a 300 px photo sends the network a blurred upsampled image no real library has.
    """
    out = []
    with Image.open(original) as im:
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    if min_side and min(rgb.size) < min_side:
        f = min_side / min(rgb.size)
        rgb = rgb.resize((round(rgb.width * f), round(rgb.height * f)), Image.Resampling.LANCZOS)
        original = dest / original.name
        rgb.save(original, "JPEG", quality=92)
    for kind in VARIANTS:
        image, quality = make_variant(rgb, kind)
        path = dest / f"{original.stem}.{kind}.jpg"
        image.save(path, "JPEG", quality=quality)
        out.append(path)
    return original, out


def encode(encoder, paths: list[Path], batch: int = 32) -> np.ndarray:  # type: ignore[no-untyped-def]
    parts = []
    for start in range(0, len(paths), batch):
        parts.append(encoder.encode_paths(paths[start : start + batch]).vectors)
        print(f"\r  encoded {min(start + batch, len(paths))}/{len(paths)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return np.vstack(parts).astype(np.float32)


def compute(photos_dir: Path, per_class: int = 0, min_side: int = 0) -> dict[str, np.ndarray]:
    from photosearch.core.vision.loader import load_encoder

    originals = []
    for folder in sorted(p for p in photos_dir.iterdir() if p.is_dir()):
        found = sorted(folder.glob("*.jpg"))
        originals += found[:per_class] if per_class else found
    labels = np.array([p.parent.name for p in originals])
    encoder = load_encoder()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        variant_paths: list[Path] = []
        used: list[Path] = []
        for i, p in enumerate(originals):
            d = Path(tmp) / str(i)
            d.mkdir()
            original, variants = write_variants(p, d, min_side)
            used.append(original)
            variant_paths += variants
        print(f"{len(originals)} originals, {len(variant_paths)} variants", file=sys.stderr)
        orig = encode(encoder, used)
        var = encode(encoder, variant_paths).reshape(len(originals), len(VARIANTS), -1)
    print(f"encoding took {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return {
        "orig": orig,
        "var": var,
        "labels": labels,
        "paths": np.array([str(p) for p in originals]),
    }


def pct(a: np.ndarray, qs: tuple[float, ...]) -> str:
    return "  ".join(f"p{q:g}={np.percentile(a, q):.3f}" for q in qs)


def report(data: dict[str, np.ndarray]) -> None:
    orig, var, labels, paths = data["orig"], data["var"], data["labels"], data["paths"]
    n = len(orig)
    print(f"\n## {n} originals, {len(VARIANTS)} edits each\n")
    print("Variant pairs (original vs its edited copy): cosine similarity")
    sims = np.einsum("nd,nvd->nv", orig, var)
    for j, kind in enumerate(VARIANTS):
        s = sims[:, j]
        print(f"  {kind:10s} min={s.min():.3f}  {pct(s, (1, 5, 50))}")
    allv = sims.ravel()
    print(f"  {'all':10s} min={allv.min():.3f}  {pct(allv, (0.5, 1, 2, 5, 50))}")

    gram = orig @ orig.T
    iu = np.triu_indices(n, 1)
    same = labels[iu[0]] == labels[iu[1]]
    s_same = gram[iu][same]
    s_diff = gram[iu][~same]
    print(
        f"\nSame-class distinct pairs ({s_same.size}): max={s_same.max():.3f}  "
        f"{pct(s_same, (50, 99, 99.9))}"
    )
    print(
        f"Different-class pairs ({s_diff.size}): max={s_diff.max():.3f}  "
        f"{pct(s_diff, (50, 99, 99.9))}"
    )

    order = np.argsort(-gram[iu])[:12]
    print("\nMost similar distinct pairs in the dev set:")
    for o in order:
        a, b = iu[0][o], iu[1][o]
        print(
            f"  {gram[a, b]:.3f}  {Path(paths[a]).parent.name}/{Path(paths[a]).name}  "
            f"{Path(paths[b]).parent.name}/{Path(paths[b]).name}"
        )

    print(
        "\nThreshold sweep (variants grouped with their original / distinct pairs wrongly joined):"
    )
    print("  thr    variants-kept  flip-kept  same-class-joined  any-distinct-joined")
    for thr in np.arange(0.70, 0.97, 0.02):
        print(
            f"  {thr:.2f}   {np.mean(allv >= thr) * 100:6.2f}%      "
            f"{np.mean(sims[:, VARIANTS.index('flip')] >= thr) * 100:6.2f}%   "
            f"{int((s_same >= thr).sum()):6d}             {int((gram[iu] >= thr).sum()):6d}"
        )
    # Middle of the gap between the hard edits and the closest distinct photos.
    lo_edit = float(np.percentile(allv, 1))
    hi_distinct = float(np.percentile(s_same, 99.9))
    print(
        f"\nvariants p1 = {lo_edit:.3f}, same-class distinct p99.9 = {hi_distinct:.3f}; "
        f"midpoint = {(lo_edit + hi_distinct) / 2:.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEV)
    parser.add_argument("--cache", type=Path, help="reuse/save the vectors in this .npz file")
    parser.add_argument("--per-class", type=int, default=0, help="only the first N of each class")
    parser.add_argument(
        "--min-side", type=int, default=0, help="upscale smaller originals to this short side first"
    )
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        data = dict(np.load(args.cache))
    else:
        if not args.photos.is_dir():
            print(f"skipped: {args.photos} is absent", file=sys.stderr)
            return 0
        data = compute(args.photos, args.per_class, args.min_side)
        if args.cache:
            np.savez(args.cache, **data)
    report(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
