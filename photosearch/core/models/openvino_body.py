"""Run a network's body with OpenVINO's CPU plugin, in float32.

On CPUs OpenVINO runs EfficientNet-Lite0 about 3x faster than eager torch with the same numbers
(float32, largest feature difference ~1e-6; docs/benchmarks.md, "Encoder"). It is an optional
extra (``pip install 'photosearch[openvino]'``): when it is missing, or anything here fails,
the encoder stays on torch.

The network is converted from the torch module already loaded (weights read with
``weights_only=True``); nothing is downloaded. The converted model is cached as OpenVINO IR
(``.xml`` + ``.bin``) under the model cache, keyed by the caller's model id and the torch and
OpenVINO versions, and checked once against torch on a fixed input when it is made.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

# A cached IR is only trusted when its features match torch's on the probe input within this.
MAX_PROBE_DIFFERENCE = 1e-4


class OpenVinoUnavailable(Exception):
    """OpenVINO is not installed, or could not convert or compile the network."""


def openvino_version() -> str | None:
    try:
        import openvino
    except Exception:  # not installed, or a broken install: either way, torch it is
        return None
    return str(getattr(openvino, "__version__", "unknown"))


class OpenVinoBody:
    """``body(x)`` for an NCHW float32 tensor -> pooled features, like the torch module it
    replaces. Calls share one infer request (and its output buffer), so they take turns."""

    def __init__(self, compiled: Any) -> None:
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        with self._lock:
            self._request.infer({0: array})
            features = np.array(self._request.get_output_tensor(0).data, copy=True)
        return torch.from_numpy(features)


def load_openvino_body(
    network: torch.nn.Module, input_size: int, cache_key: str, cache_dir: Path, threads: int
) -> OpenVinoBody:
    """Convert (or load the cached conversion of) ``network`` and compile it for the CPU.

    Raises :class:`OpenVinoUnavailable` with the reason when that cannot be done.
    """
    version = openvino_version()
    if version is None:
        raise OpenVinoUnavailable("openvino is not installed")
    import openvino as ov

    folder = cache_dir / "openvino"
    stem = _safe_name(f"{cache_key}-torch{torch.__version__}-ov{version}")
    xml = folder / f"{stem}.xml"
    try:
        core = ov.Core()
        core.set_property({"CACHE_DIR": str(folder / "compiled")})
        model = _read_cached(core, xml)
        fresh = model is None
        if model is None:
            model = _convert(ov, network, input_size)
        compiled = _compile(core, model, threads)
        precision = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
        if "32" not in precision:  # a plugin that ignored the hint would change the vectors
            raise OpenVinoUnavailable(f"it would run at {precision}, not float32")
        body = OpenVinoBody(compiled)
        if fresh:
            _check_against_torch(body, network, input_size)
            _save(ov, model, xml)
    except OpenVinoUnavailable:
        raise
    except Exception as exc:  # any OpenVINO failure means "use torch", never a crash
        raise OpenVinoUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return body


def _compile(core: Any, model: Any, threads: int) -> Any:
    """Compile for the CPU in float32. The tuning properties are optional: a platform that
    rejects them (pinning is not offered everywhere) still gets the model, without them."""
    required = {
        # float32 on purpose: the CPU plugin defaults to bf16 on AMX/AVX512-BF16 CPUs (and
        # fp16 on Arm), which changes the top-5 classes of ~25% of photos (docs/benchmarks.md).
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": max(1, threads),
    }
    tuning = {
        "PERFORMANCE_HINT": "LATENCY",
        # The decode workers share these cores: pinned inference threads would fight them.
        "ENABLE_CPU_PINNING": False,
    }
    try:
        return core.compile_model(model, "CPU", {**required, **tuning})
    except Exception as exc:
        log.info("compiling without the optional OpenVINO settings (%s)", exc)
        return core.compile_model(model, "CPU", required)


def _read_cached(core: Any, xml: Path) -> Any | None:
    if not (xml.is_file() and xml.with_suffix(".bin").is_file()):
        return None
    try:
        return core.read_model(str(xml))
    except Exception as exc:  # a truncated or corrupt cache file: convert again
        log.warning("ignoring the unreadable cached OpenVINO model %s: %s", xml, exc)
        return None


def _convert(ov: Any, network: torch.nn.Module, input_size: int) -> Any:
    log.info("converting the image model for OpenVINO (once; cached afterwards)")
    example = _probe_input(input_size)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # Tracing fixes Python-computed shapes ("same" padding) as constants: right here, since
        # the input side is fixed below, but torch warns about each of them.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace, used by OpenVINO
        model = ov.convert_model(network.eval(), example_input=example)
    # Any batch size: the indexer sends batches of 32, a query sends one image.
    model.reshape([-1, 3, input_size, input_size])
    return model


def _check_against_torch(body: OpenVinoBody, network: torch.nn.Module, input_size: int) -> None:
    probe = _probe_input(input_size)
    with torch.inference_mode():
        expected = network(probe.contiguous(memory_format=torch.channels_last)).float()
    got = body(probe)
    difference = float((got - expected).abs().max()) if got.shape == expected.shape else np.inf
    if not difference <= MAX_PROBE_DIFFERENCE:
        raise OpenVinoUnavailable(
            f"its features differ from torch's by {difference:.3g} "
            f"(more than {MAX_PROBE_DIFFERENCE:g})"
        )


def _probe_input(input_size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, input_size, input_size, generator=generator)


def _save(ov: Any, model: Any, xml: Path) -> None:
    """Write the IR next to its final name, then rename: a crash never leaves half a model."""
    try:
        xml.parent.mkdir(parents=True, exist_ok=True)
        tmp = xml.with_name(f".{xml.stem}.{os.getpid()}.tmp.xml")
        ov.save_model(model, str(tmp), compress_to_fp16=False)  # fp16 weights would change results
        os.replace(tmp.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(tmp, xml)
    except Exception as exc:  # a read-only cache only costs the conversion next time
        log.warning("could not cache the converted model in %s: %s", xml.parent, exc)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
