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
the cached model is used (:mod:`photosearch.core.vision.models.model_cache`). With an image encoder's
facts and arrays, the cache also holds what the encoder needs beside the network, so that a
later process can load it without torch (:func:`load_cached_body`,
:mod:`photosearch.core.vision.lean_encoder`); torch is imported here only to convert.

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
from typing import TYPE_CHECKING, Any

import numpy as np

from photosearch.core.vision.models.model_cache import (
    MAX_PROBE_DIFFERENCE,
    CachedModel,
    CacheProblem,
    Manifest,
    cache_stem,
    probe_difference,
    probe_input,
    probe_shape,
)

if TYPE_CHECKING:
    import torch

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
    # Lazy: OpenVINO (~0.3 s) only when its backend is chosen.
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
    replaces; :meth:`run` the same for numpy arrays. Calls share one infer request (and its
    output buffer), so they take turns."""

    def __init__(self, compiled: Any) -> None:
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(self, array: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(array, dtype=np.float32)
        with self._lock:
            self._request.infer({0: array})
            return np.array(self._request.get_output_tensor(0).data, copy=True)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # Lazy: torch only when the body stands in for a torch module (the torch encoder).
        import torch

        return torch.from_numpy(self.run(x.detach().cpu().numpy()))


def cached_model(cache_key: str, cache_dir: Path, arrays: bool) -> CachedModel:
    """Where the conversion for ``cache_key`` is cached. Raises OpenVinoUnavailable when
    OpenVINO is not installed (its version is part of the name)."""
    version = openvino_version()
    if version is None:
        raise OpenVinoUnavailable("openvino is not installed")
    return CachedModel(cache_dir / "openvino", cache_stem(cache_key, version), arrays)


def load_openvino_body(
    network: torch.nn.Module,
    input_size: int,
    cache_key: str,
    cache_dir: Path,
    threads: int,
    encoder_facts: dict[str, Any] | None = None,
    encoder_arrays: dict[str, np.ndarray] | None = None,
) -> OpenVinoBody:
    """Convert (or load the verified cached conversion of) ``network`` and compile it for the CPU.

    A cached model whose files, probe output or ``encoder_facts`` differ from its manifest is
    never used: it is converted again, with a warning. A fresh conversion is cached with
    ``encoder_facts`` and ``encoder_arrays`` beside it. Raises :class:`OpenVinoUnavailable`
    with the reason when OpenVINO cannot run the network.
    """
    cache = cached_model(cache_key, cache_dir, arrays=encoder_arrays is not None)
    ov = import_openvino()
    try:
        core = _core(ov, cache)
        body = _load_cached(core, cache, input_size, threads, encoder_facts)
        if body is None:
            model = _convert(ov, network, input_size)
            body = _body(core, model, threads)
            expected = _check_against_torch(body, network, input_size)
            _save(ov, model, cache, input_size, expected, encoder_facts, encoder_arrays)
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


def _core(ov: Any, cache: CachedModel) -> Any:
    core = ov.Core()
    core.set_property({"CACHE_DIR": str(_compiled_dir(cache.folder))})
    return core


def load_cached_body(
    cache: CachedModel, input_size: int | None, threads: int, core: Any = None
) -> tuple[OpenVinoBody, Manifest]:
    """The cached model, compiled, and its manifest, once its files match their recorded
    digests and its output on the probe input matches the recorded one. Needs no torch.
    ``input_size`` None: the one the probe was recorded for. Raises :class:`CacheProblem`
    (or OpenVINO's own error) when it does not check out."""
    if core is None:
        core = _core(import_openvino(), cache)
    manifest = cache.verify_files()
    if input_size is None:
        input_size = int(manifest.data["probe"]["input_shape"][-1])
    model = core.read_model(str(cache.xml))
    body = _body(core, model, threads)
    probe = probe_input(input_size)
    difference = probe_difference(body.run(probe), manifest.probe_output(probe.shape))
    if not difference <= MAX_PROBE_DIFFERENCE:
        raise CacheProblem(
            f"its output differs from the recorded one by {difference:.3g} "
            f"(more than {MAX_PROBE_DIFFERENCE:g})"
        )
    return body, manifest


def _load_cached(
    core: Any,
    cache: CachedModel,
    input_size: int,
    threads: int,
    encoder_facts: dict[str, Any] | None = None,
) -> OpenVinoBody | None:
    """The cached model, compiled, when it checks out (:func:`load_cached_body`) and records
    ``encoder_facts``; else None (after a warning when a cache was there but is not to be
    trusted, whose files are then removed)."""
    if not cache.exists():
        return None
    try:
        body, manifest = load_cached_body(cache, input_size, threads, core)
        if manifest.encoder != encoder_facts:
            raise CacheProblem("it was made for other model weights or settings")
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
    # Lazy: torch (~1.3 s, ~500 MB) only to convert a model; a cached one needs none.
    import torch

    log.info("converting the image model for OpenVINO (once; cached afterwards)")
    example = torch.from_numpy(probe_input(input_size))
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
    # Lazy: torch (~1.3 s, ~500 MB) only to convert a model; a cached one needs none.
    import torch

    probe = torch.from_numpy(probe_input(input_size))
    with torch.inference_mode():
        expected = network(probe.contiguous(memory_format=torch.channels_last)).float().numpy()
    difference = probe_difference(body(probe).numpy(), expected)
    if not difference <= MAX_PROBE_DIFFERENCE:
        raise OpenVinoUnavailable(
            f"its features differ from torch's by {difference:.3g} "
            f"(more than {MAX_PROBE_DIFFERENCE:g})"
        )
    return expected


def _save(
    ov: Any,
    model: Any,
    cache: CachedModel,
    input_size: int,
    expected: np.ndarray,
    encoder_facts: dict[str, Any] | None,
    encoder_arrays: dict[str, np.ndarray] | None,
) -> None:
    """Write the IR (and the encoder's arrays) next to their final names, then rename, then
    the manifest that vouches for them: a crash never leaves half a model that would be
    trusted."""
    try:
        cache.folder.mkdir(parents=True, exist_ok=True)
        tmp = cache.xml.with_name(f".{cache.xml.stem}.{os.getpid()}.tmp.xml")
        ov.save_model(model, str(tmp), compress_to_fp16=False)  # fp16 weights would change results
        os.replace(tmp.with_suffix(".bin"), cache.bin)
        os.replace(tmp, cache.xml)
        if encoder_arrays is not None:
            cache.write_arrays(encoder_arrays)
        cache.write_manifest(probe_shape(input_size), expected, encoder_facts)
    except Exception as exc:  # a read-only cache only costs the conversion next time
        log.warning("could not cache the converted model in %s: %s", cache.folder, exc)
