"""The image encoder without torch: the cached OpenVINO network, with numpy around it.

Once the network has been converted (through torch, :mod:`photosearch.core.vision.encoder`), the cache
holds everything a query needs: the network as OpenVINO IR, the classifier weights and the search
basis, the model id and a digest of the weights file it came from, all vouched for by the
manifest (:mod:`photosearch.core.vision.models.model_cache`). Loading them here skips ``import torch``
(~1.3 s, ~500 MB). The arithmetic is the torch encoder's, in float32, so vectors and
probabilities match it within the tolerance the OpenVINO backend already has (1e-4), and the
model id is the same: a library indexed by either is searched by either.

Anything that does not check out makes :func:`load_lean_encoder` return None, and the caller
goes through torch, which converts the model again (with a warning when a cache was damaged).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.vision.encoding import (
    SEARCH_DIM,
    DecodesAndEncodes,
    Encoding,
    Preprocess,
    WeightsPath,
    encoder_cache_key,
    lite_weights_path,
    model_cache_dir,
    single_threaded_blas,
    source_record,
    wanted_threads,
    weights_digest,
)
from photosearch.core.vision.imagenet import NUM_CLASSES
from photosearch.core.vision.models.model_cache import CacheProblem
from photosearch.core.vision.models.openvino_body import cached_model, load_cached_body

log = logging.getLogger(__name__)


class LeanEncoder(DecodesAndEncodes):
    """Same interface and numbers as :class:`photosearch.core.vision.encoder.ImageEncoder` on the
    OpenVINO backend. Thread-safe: the network's calls take turns."""

    backend = "openvino"
    device = "cpu"

    def __init__(
        self,
        name: str,
        model_id: str,
        body: Any,
        preprocess: Preprocess,
        arrays: dict[str, np.ndarray],
    ) -> None:
        self.name = name
        self.model_id = model_id
        self.preprocess = preprocess
        self._body = body
        self._weight = arrays["classifier_weight"]
        self._bias = arrays["classifier_bias"]
        self._basis = arrays["basis"]
        self.feature_dim = int(self._weight.shape[1])
        self.vector_dim = int(self._basis.shape[1])
        self._mean = np.asarray(preprocess.mean, np.float32).reshape(1, 3, 1, 1)
        self._std = np.asarray(preprocess.std, np.float32).reshape(1, 3, 1, 1)
        self._lock = threading.Lock()

    @property
    def classifier_weight(self) -> np.ndarray:
        return self._weight

    @property
    def classifier_prototypes(self) -> np.ndarray:
        return self._weight @ self._basis

    def encode_arrays(self, batch: np.ndarray) -> Encoding:
        """(n, size, size, 3) uint8 -> features and probabilities."""
        if batch.ndim != 4 or batch.shape[0] == 0:
            return Encoding.empty(self.feature_dim, self.vector_dim)
        x = batch.transpose(0, 3, 1, 2).astype(np.float32)
        x = np.ascontiguousarray((x - self._mean) / self._std)
        features = self._body.run(x)
        logits = features @ self._weight.T + self._bias
        probs = _softmax(logits)
        features = _normalize(features)
        vectors = _normalize(features @ self._basis)
        return Encoding(features, probs, vectors)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def _normalize(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as ``torch.nn.functional.normalize`` (eps 1e-12)."""
    norms = np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return (rows / norms).astype(np.float32)


def load_lean_encoder(name: str, weights: WeightsPath, crop: str) -> LeanEncoder | None:
    """The encoder from a verified cached conversion, without importing torch; None (and the
    reason in the log) when there is none, OpenVINO is missing, or anything does not match."""
    path = Path(weights) if weights else lite_weights_path(name)
    if path is None or not path.is_file():
        return None  # the torch loader says what is missing
    try:
        key = encoder_cache_key(name, weights_digest(path), crop)
        cache = cached_model(key, model_cache_dir(), arrays=True)
        if not cache.exists():
            log.info("no cached OpenVINO model for %s yet: loading it through torch", key)
            return None
        single_threaded_blas()
        body, manifest = load_cached_body(cache, None, wanted_threads())
        arrays = cache.read_arrays()
        model_id, preprocess = _check_facts(manifest.encoder, name, path, crop, arrays)
    except Exception as exc:  # a missing OpenVINO or a cache that does not check out
        log.info("not loading the image model without torch (%s: %s)", type(exc).__name__, exc)
        return None
    log.info("image model runs on OpenVINO (CPU, float32), loaded without torch")
    return LeanEncoder(name, model_id, body, preprocess, arrays)


def _check_facts(
    facts: dict[str, Any] | None,
    name: str,
    source: Path,
    crop: str,
    arrays: dict[str, np.ndarray],
) -> tuple[str, Preprocess]:
    """The model id and preprocessing the cache records, once they agree with the weights file,
    the crop asked for and the cached arrays. Raises CacheProblem."""
    if facts is None:
        raise CacheProblem("its manifest records no encoder")
    if facts.get("source_weights") != source_record(source):
        raise CacheProblem(f"it was made from other weights than {source}")
    pre = facts["preprocess"]
    preprocess = Preprocess(
        int(pre["size"]), str(pre["crop"]), tuple(pre["mean"]), tuple(pre["std"])
    )
    if preprocess.crop != crop:
        raise CacheProblem(f"it records crop {preprocess.crop!r}, not {crop!r}")
    weight, bias, basis = (arrays.get(k) for k in ("classifier_weight", "classifier_bias", "basis"))
    if weight is None or bias is None or basis is None:
        raise CacheProblem("its arrays are incomplete")
    classes, features = weight.shape
    dim = min(SEARCH_DIM, classes, features)
    if classes != NUM_CLASSES or bias.shape != (classes,) or basis.shape != (features, dim):
        raise CacheProblem("its arrays have the wrong shapes")
    model_id = f"{name}-{weights_digest(source)}-{crop}{preprocess.size}-svd{dim}"
    if facts.get("model_id") != model_id:
        raise CacheProblem(f"it records model {facts.get('model_id')!r}, not {model_id!r}")
    return model_id, preprocess
