"""CPU time per photo of the two halves of indexing, each on one thread: reading + hashing +
draft-decoding a 12-MP JPEG, and the model's inference. On a machine where both share the same
cores, end-to-end throughput can reach at most inference / (inference + decode) of the
encoder-only throughput (docs/benchmarks.md, "Indexing").

    .venv/bin/python benchmarks/cpu_cost.py [--photos 12]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from indexing import make_photos

from photosearch.core.indexing.indexer import read_and_decode
from photosearch.core.vision.encoder import BackendUnavailableError
from photosearch.core.vision.loader import load_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--grain", type=float, default=0.0, help="as in indexing.py")
    parser.add_argument(
        "--profile", action="store_true", help="also print where read_and_decode spends its time"
    )
    args = parser.parse_args()
    os.environ["PHOTOSEARCH_TORCH_THREADS"] = "1"
    encoders = {}
    for backend in ("torch", "openvino"):
        try:
            encoders[backend] = load_encoder(backend=backend)
        except BackendUnavailableError as exc:
            print(f"{backend}: not measured ({exc})")
    encoder = encoders["torch"]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="photosearch-cpu-") as tmp:
        paths = make_photos(Path(tmp), args.photos, args.grain)
        encoder.encode_arrays(read_and_decode(0, str(paths[0]), encoder.preprocess).array[None])
        decode = []
        arrays = []
        for i, path in enumerate(paths):
            start = time.process_time()
            decoded = read_and_decode(i, str(path), encoder.preprocess)
            decode.append(time.process_time() - start)
            arrays.append(decoded.array)
        if args.profile:
            profile_decode(paths, encoder.preprocess)
        compare_jpeg_decoders(paths, encoder.preprocess.decode_side)
        compare_hashes(paths)
    batch = np.stack((arrays * (32 // len(arrays) + 1))[:32])
    d = float(np.mean(decode)) * 1000
    print(f"decode (read, hash, draft decode, resize): {d:.1f} ms CPU per photo")
    for backend, enc in encoders.items():
        enc.encode_arrays(batch)  # warm-up
        start = time.process_time()
        enc.encode_arrays(batch)
        inference = (time.process_time() - start) / len(batch) * 1000
        print(f"{backend} inference (batch 32, one thread): {inference:.1f} ms CPU per photo")
        print(
            f"   end-to-end / encoder-only bound when both share the cores: "
            f"{inference / (inference + d):.2f}"
        )


def profile_decode(paths: list[Path], preprocess: object) -> None:
    """cProfile of three passes of ``read_and_decode`` over the photos, by own time."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(3):
        for path in paths:
            read_and_decode(0, str(path), preprocess)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(6)


def compare_jpeg_decoders(paths: list[Path], side: int) -> None:
    """The reduced-size decode alone: Pillow's draft mode (the app's) against simplejpeg (same
    libjpeg-turbo scaling; not a dependency), when simplejpeg is installed."""
    import importlib.util
    import io

    from PIL import Image

    def pillow(data: bytes) -> object:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (side, side))
            image.load()
            return image.size

    decoders = {"Pillow draft": pillow}
    if importlib.util.find_spec("simplejpeg"):
        import simplejpeg

        decoders["simplejpeg"] = lambda data: simplejpeg.decode_jpeg(
            data, colorspace="RGB", min_height=side, min_width=side
        )
    else:
        print("simplejpeg not measured: pip install simplejpeg")
    files = [p.read_bytes() for p in paths]
    for name, decode in decoders.items():
        start = time.process_time()
        for data in files:
            decode(data)
        ms = (time.process_time() - start) / len(files) * 1000
        print(f"JPEG decode alone, {name}: {ms:.1f} ms CPU per photo")


def compare_hashes(paths: list[Path]) -> None:
    """The app's content hash (BLAKE2b) against SHA-256, whose speed depends on SHA-NI."""
    import hashlib

    data = b"".join(p.read_bytes() for p in paths)
    for name in ("blake2b", "sha256"):
        start = time.process_time()
        hashlib.new(name, data).digest()
        mb_per_s = len(data) / max(time.process_time() - start, 1e-9) / 1e6
        print(f"hash {name}: {mb_per_s:.0f} MB/s")


if __name__ == "__main__":
    main()
