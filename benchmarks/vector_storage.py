"""Bytes per photo and image->image P@10 on the dev photos for each way of storing vectors.

    .venv/bin/python benchmarks/vector_storage.py [/work/shared/data/photos-dev] [--cache F.npz]

Encodes the labelled dev photos once with the real encoder (about 40 s for 900 photos on an idle
2-core machine; ``--cache`` keeps the features), then scores leave-one-out image->image P@10
(cosine, same label = relevant) for: the full 1280-d float32 features, float16, int8 (one float32
scale per vector), and projections on the top 128 / 256 / 384 singular directions of the
classifier weights (the app stores SVD-256 float32), also at float16 / int8. The baseline is
float32 1280-d, in the same run; the target is <= 2 KB per photo within 1% of its P@10.

Bytes per photo = visual vector + semantic vector (50 x float32 = 200 B) + top-32 classes
(32 x uint16 id + 32 x float16 probability = 128 B); vec0 and row overhead come on top (the
measured database size per photo of the synthetic libraries is printed too).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _common
import numpy as np
import torch

from photosearch.core.encoder import _search_basis, load_encoder
from photosearch.core.text.evaluate import image_to_image_p_at_k, read_labels

SEMANTIC_BYTES = 50 * 4
CLASS_BYTES = 32 * (2 + 2)


def encode_folder(folder: Path, cache: Path | None) -> tuple[np.ndarray, list[str], np.ndarray]:
    paths, labels, _ = read_labels(folder)
    if cache is not None and cache.is_file():
        data = np.load(cache)
        if list(data["labels"]) == labels:
            return data["features"], labels, data["weight"]
    encoder = load_encoder()
    feats = []
    for i in range(0, len(paths), 32):
        feats.append(encoder.encode_paths(paths[i : i + 32]).features)
    features = np.concatenate(feats)
    weight = encoder.classifier_weight
    if cache is not None:
        np.savez(cache, features=features, labels=np.asarray(labels), weight=weight)
    return features, labels, weight


def as_float16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


def as_int8(x: np.ndarray) -> np.ndarray:
    scale = np.abs(x).max(axis=1, keepdims=True) / 127.0
    return np.round(x / scale).astype(np.int8).astype(np.float32) * scale


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default="/work/shared/data/photos-dev")
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    _common.header("vector storage: bytes per photo vs image->image P@10")
    features, labels, weight = encode_folder(Path(args.folder), args.cache)
    print(f"   {len(labels)} photos, {len(set(labels))} labels")
    variants: dict[str, tuple[np.ndarray, int]] = {
        "float32 1280-d (baseline)": (features, 1280 * 4),
        "float16 1280-d": (as_float16(features), 1280 * 2),
        "int8 1280-d (+ scale)": (as_int8(features), 1280 + 4),
    }
    for dim in (128, 256, 384):
        basis = _search_basis(torch.from_numpy(weight), dim).numpy()
        projected = features @ basis
        projected /= np.linalg.norm(projected, axis=1, keepdims=True)
        app = " (the app)" if dim == 256 else ""
        variants[f"SVD-{dim} float32{app}"] = (projected, dim * 4)
        variants[f"SVD-{dim} float16"] = (as_float16(projected), dim * 2)
        variants[f"SVD-{dim} int8 (+ scale)"] = (as_int8(projected), dim + 4)
    base = image_to_image_p_at_k(features, labels, 10)
    print(f"   {'visual vector':28s} {'visual B':>8s} {'total B':>8s} {'P@10':>7s} {'vs f32':>8s}")
    for name, (vectors, nbytes) in variants.items():
        p = image_to_image_p_at_k(vectors, labels, 10)
        total = nbytes + SEMANTIC_BYTES + CLASS_BYTES
        ok = "ok" if total <= 2048 and p >= base * 0.99 else "--"
        print(f"   {name:28s} {nbytes:8d} {total:8d} {p:7.4f} {p / base:8.3f}  {ok}")
    print(
        "   total B = visual + semantic 50 x f32 (200 B) + top-32 classes (128 B); "
        "ok = <= 2 KB and within 1% of float32"
    )
    for n in (10_000, 100_000, 1_000_000):
        path = _common.BENCH_TMP / f"synthetic-{n}.db"
        if path.exists():
            print(
                f"   synthetic library of {n:,}: whole SQLite file "
                f"{path.stat().st_size / n:,.0f} B per photo (vec0 chunks, photos row, path, "
                "indexes)"
            )


if __name__ == "__main__":
    main()
