"""Which encoder to run: the torch-free OpenVINO one when a verified cached conversion exists
(:mod:`photosearch.core.vision.lean_encoder`), the torch one otherwise
(:mod:`photosearch.core.vision.encoder`). Both are imported only when chosen, so a query that
finds the converted model in the cache never imports torch (docs/benchmarks.md, "Lean runtime").
"""

from __future__ import annotations

from typing import Any

from photosearch.core.vision.encoding import (
    CROP_POLICIES,
    DEFAULT_CROP,
    DEFAULT_MODEL,
    WeightsPath,
    gpu_may_be_present,
    resolve_backend,
)


def load_encoder(
    name: str = DEFAULT_MODEL,
    weights: WeightsPath = None,
    device: str | None = None,
    crop: str = DEFAULT_CROP,
    backend: str | None = None,
) -> Any:
    """The named model's encoder, from local weights. Raises :class:`ModelNotFoundError` if absent.

    ``backend`` (else ``PHOTOSEARCH_BACKEND``, else "auto") picks what runs the network; all
    give the same vectors, so a library indexed with one is searched with any other. On the
    CPU with OpenVINO, a verified cached conversion is loaded without torch; anything else
    (first run, torch backend, a GPU, a cache that does not check out) goes through torch.
    """
    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")
    chosen = resolve_backend(backend)
    cpu_only = device == "cpu" or (device is None and not gpu_may_be_present())
    if chosen != "torch" and cpu_only:
        # Lazy: the lean encoder avoids torch; the torch encoder imports it (~1.3 s, ~500 MB).
        from photosearch.core.vision.lean_encoder import load_lean_encoder

        lean = load_lean_encoder(name, weights, crop)
        if lean is not None:
            return lean
    from photosearch.core.vision.encoder import load_torch_encoder  # lazy: imports torch

    return load_torch_encoder(name, weights, device, crop, chosen)
