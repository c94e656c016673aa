"""Bytes per photo and image->image P@10 on the dev photos for each way of storing vectors.

    .venv/bin/python benchmarks/vector_storage.py [/work/shared/data/photos-dev] [--cache F.npz]

Encodes the labelled dev photos once with the real encoder (about 40 s for 900 photos on an idle
2-core machine; ``--cache`` keeps the features), then scores leave-one-out image->image P@10
(cosine, same label = relevant) for: the full 1280-d float32 features, float16, int8 (one float32
scale per vector), and projections on the top 128 / 256 / 384 singular directions of the
classifier weights (the app stores SVD-256 float32), also at float16 / int8. The baseline is
float32 1280-d, in the same run; the target is <= 2 KB per photo within 1% of its P@10.

int8 is the search index's own quantisation (``photosearch.core.library.quantized.quantize_rows``).
The last row scores as the index scans: each photo's stored float32 SVD-256 vector queries the
others' int8 rows by plain product (no renormalising); its ratio to the app's float32 SVD-256 is
the check for keeping the index's matrix in int8 (issue 18: within 0.5%).

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

from photosearch.core.evaluation.evaluate import image_to_image_p_at_k, read_labels
from photosearch.core.library.quantized import QuantizedRows, quantize_rows
from photosearch.core.vision.encoder import _search_basis
from photosearch.core.vision.loader import load_encoder

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
    return QuantizedRows(*quantize_rows(x))[:]


def p_at_k_as_scanned(stored: np.ndarray, labels: list[str], k: int = 10) -> float:
    """Leave-one-out P@k with each stored float32 vector querying the index's int8 rows."""
    held = QuantizedRows(*quantize_rows(stored))
    labels_arr = np.asarray(labels)
    total = 0.0
    for i in range(len(stored)):
        sims = held @ stored[i]
        sims[i] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        total += float((labels_arr[top] == labels_arr[i]).sum())
    return total / (len(stored) * k)


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
    app = image_to_image_p_at_k(variants["SVD-256 float32 (the app)"][0], labels, 10)
    print(f"   {'visual vector':28s} {'visual B':>8s} {'total B':>8s} {'P@10':>7s} {'vs f32':>8s}")
    for name, (vectors, nbytes) in variants.items():
        p = image_to_image_p_at_k(vectors, labels, 10)
        total = nbytes + SEMANTIC_BYTES + CLASS_BYTES
        ok = "ok" if total <= 2048 and p >= base * 0.99 else "--"
        print(f"   {name:28s} {nbytes:8d} {total:8d} {p:7.4f} {p / base:8.3f}  {ok}")
    scanned = p_at_k_as_scanned(variants["SVD-256 float32 (the app)"][0], labels, 10)
    print(
        f"   SVD-256 int8 as the index scans it: P@10 {scanned:.4f}, "
        f"{scanned / app:.4f} of the app's float32 SVD-256 ({app:.4f})"
    )
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
