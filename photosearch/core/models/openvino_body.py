"""Run a network's body with OpenVINO's CPU plugin, in float32.

On CPUs OpenVINO runs EfficientNet-Lite0 about 3x faster than eager torch with the same numbers
(float32, largest feature difference ~1e-6; docs/benchmarks.md, "Encoder"). It is an optional
extra (``pip install 'photosearch[openvino]'``): when it is missing, or anything here fails,
the encoder stays on torch.

The network is converted from the torch module already loaded (weights read with
``weights_only=True``); nothing is downloaded. The converted model is cached as OpenVINO IR
(``.xml`` + ``.bin``) under the model cache, keyed by the caller's model id and the torch and
OpenVINO versions, and checked against torch on a fixed input when it is made. A manifest beside
it records the files' SHA-256 and torch's output on that input; every load checks both before
the cached model is used (:mod:`photosearch.core.models.model_cache`).

Importing OpenVINO goes through :func:`import_openvino`, which first switches off its telemetry.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photosearch.core.models.model_cache import (
    MAX_PROBE_DIFFERENCE,
    CachedModel,
    CacheProblem,
    probe_difference,
)

log = logging.getLogger(__name__)


def disable_openvino_telemetry() -> None:
    """Keep OpenVINO from phoning home, before it is imported.

    ``import openvino`` and every model conversion report usage to Google Analytics through the
    separate package ``openvino_telemetry``, which also writes ``~/intel/openvino_ga_cid`` and
    ``~/intel/stats``. Its documented opt-out (``opt_in_out --opt_out``) itself writes under
    ``~/intel``; but OpenVINO imports the package inside ``try: ... except ImportError`` and
    then uses its own no-op stub (``openvino/tools/ovc/telemetry_stub.py``). A ``None`` entry in
    ``sys.modules`` makes that import fail, for this process only.
    """
    if "openvino_telemetry" in sys.modules and sys.modules["openvino_telemetry"] is None:
        return  # done already
    if sys.modules.get("openvino") is not None:
        log.warning("OpenVINO was imported before its telemetry could be switched off")
    sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]


def import_openvino() -> Any:
    """``import openvino``, with its telemetry off. Raises ImportError when it is missing."""
    disable_openvino_telemetry()
    import openvino

    return openvino


# Whoever imports this module before OpenVINO gets it without telemetry too.
disable_openvino_telemetry()


class OpenVinoUnavailable(Exception):
    """OpenVINO is not installed, or could not convert or compile the network."""


def openvino_version() -> str | None:
    try:
        openvino = import_openvino()
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
    """Convert (or load the verified cached conversion of) ``network`` and compile it for the CPU.

    A cached model whose files or probe output differ from its manifest is never used: it is
    converted again, with a warning. Raises :class:`OpenVinoUnavailable` with the reason when
    OpenVINO cannot run the network.
    """
    version = openvino_version()
    if version is None:
        raise OpenVinoUnavailable("openvino is not installed")
    ov = import_openvino()

    folder = cache_dir / "openvino"
    cache = CachedModel(folder, _safe_name(f"{cache_key}-torch{torch.__version__}-ov{version}"))
    try:
        core = ov.Core()
        core.set_property({"CACHE_DIR": str(_compiled_dir(folder))})
        body = _load_cached(core, cache, input_size, threads)
        if body is None:
            model = _convert(ov, network, input_size)
            body = _body(core, model, threads)
            expected = _check_against_torch(body, network, input_size)
            _save(ov, model, cache, _probe_input(input_size), expected)
    except OpenVinoUnavailable:
        raise
    except Exception as exc:  # any OpenVINO failure means "use torch", never a crash
        raise OpenVinoUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return body


def _body(core: Any, model: Any, threads: int) -> OpenVinoBody:
    compiled = _compile(core, model, threads)
    precision = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
    if "32" not in precision:  # a plugin that ignored the hint would change the vectors
        raise OpenVinoUnavailable(f"it would run at {precision}, not float32")
    return OpenVinoBody(compiled)


def _load_cached(
    core: Any, cache: CachedModel, input_size: int, threads: int
) -> OpenVinoBody | None:
    """The cached model, compiled, when its files match their recorded digests and its output
    on the probe input matches the recorded one; else None (after a warning when a cache was
    there but is not to be trusted, whose files are then removed)."""
    if not cache.exists():
        return None
    try:
        manifest = cache.verify_files()
        model = core.read_model(str(cache.xml))
        body = _body(core, model, threads)
        probe = _probe_input(input_size)
        difference = probe_difference(body(probe).numpy(), manifest.probe_output(probe.shape))
        if not difference <= MAX_PROBE_DIFFERENCE:
            raise CacheProblem(
                f"its output differs from the recorded one by {difference:.3g} "
                f"(more than {MAX_PROBE_DIFFERENCE:g})"
            )
        return body
    except OpenVinoUnavailable:
        raise
    except Exception as exc:  # damaged files, shapes or weights: never used, converted again
        reason = str(exc) if isinstance(exc, CacheProblem) else f"{type(exc).__name__}: {exc}"
        log.warning(
            "not using the cached OpenVINO model %s (%s); converting it again", cache.xml, reason
        )
        cache.remove()
        # OpenVINO's compiled blobs are keyed by the model; one may be the damaged part.
        shutil.rmtree(_compiled_dir(cache.folder), ignore_errors=True)
        return None


def _compiled_dir(folder: Path) -> Path:
    return folder / "compiled"


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


def _check_against_torch(
    body: OpenVinoBody, network: torch.nn.Module, input_size: int
) -> np.ndarray:
    """Torch's features on the probe input, once OpenVINO's are shown to match them."""
    probe = _probe_input(input_size)
    with torch.inference_mode():
        expected = network(probe.contiguous(memory_format=torch.channels_last)).float().numpy()
    difference = probe_difference(body(probe).numpy(), expected)
    if not difference <= MAX_PROBE_DIFFERENCE:
        raise OpenVinoUnavailable(
            f"its features differ from torch's by {difference:.3g} "
            f"(more than {MAX_PROBE_DIFFERENCE:g})"
        )
    return expected


def _probe_input(input_size: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, input_size, input_size, generator=generator)


def _save(
    ov: Any, model: Any, cache: CachedModel, probe: torch.Tensor, expected: np.ndarray
) -> None:
    """Write the IR next to its final name, then rename, then the manifest that vouches for
    it: a crash never leaves half a model that would be trusted."""
    try:
        cache.folder.mkdir(parents=True, exist_ok=True)
        tmp = cache.xml.with_name(f".{cache.xml.stem}.{os.getpid()}.tmp.xml")
        ov.save_model(model, str(tmp), compress_to_fp16=False)  # fp16 weights would change results
        os.replace(tmp.with_suffix(".bin"), cache.bin)
        os.replace(tmp, cache.xml)
        cache.write_manifest(tuple(probe.shape), expected)
    except Exception as exc:  # a read-only cache only costs the conversion next time
        log.warning("could not cache the converted model in %s: %s", cache.folder, exc)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
