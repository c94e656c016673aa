"""Encoder throughput at batch 32: the app's encoder against a naive baseline, in one run.

    .venv/bin/python benchmarks/encoder.py [--batch 32] [--repeat 6] [--check [--check-photos N]] [--jit] [--compile]
    .venv/bin/python benchmarks/encoder.py --cache-check   # cost of verifying the cached model

Baseline ("naive"): a second copy of the same network, NCHW float32 input (no channels_last),
torch's default thread count, eager mode. Variants are timed interleaved with the baseline (ABAB..)
so that load from other processes hits both alike; each line prints images/s and the ratio to
the baseline. ``--check`` encodes the 360 bundled sample photos with every variant and compares
top-5 classes and search vectors with the float32 reference (a variant is only worth adopting if
it is faster *and* keeps the same top-5).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from pathlib import Path

import _common
import numpy as np
import torch

from photosearch.core.vision.encoder import ImageEncoder
from photosearch.core.vision.loader import load_encoder

Forward = Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]]


def sample_batch(encoder: ImageEncoder, n: int) -> np.ndarray:
    from photosearch.core.resources import sample_photos_dir
    from photosearch.core.vision.imageio import open_image

    paths = sorted(sample_photos_dir().rglob("*.jpg"))
    arrays = [encoder.preprocess(open_image(p, encoder.preprocess.decode_side)) for p in paths[:n]]
    while len(arrays) < n:
        arrays += arrays[: n - len(arrays)]
    return np.stack(arrays)


def all_samples(encoder: ImageEncoder) -> np.ndarray:
    from photosearch.core.resources import sample_photos_dir
    from photosearch.core.vision.imageio import open_image

    paths = sorted(sample_photos_dir().rglob("*.jpg"))
    return np.stack(
        [encoder.preprocess(open_image(p, encoder.preprocess.decode_side)) for p in paths]
    )


def network_input(encoder: ImageEncoder, batch: np.ndarray) -> torch.Tensor:
    """(n, H, W, 3) uint8 -> the normalised NCHW float32 tensor the network takes."""
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    return ((x - encoder._mean) / encoder._std).contiguous()


def make_variants(encoder: ImageEncoder, want_compile: bool, want_jit: bool) -> dict[str, Forward]:
    net, fc = encoder._network, encoder._classifier
    mean, std = encoder._mean, encoder._std

    # The app's network has its BatchNorms folded at load; the baselines use the plain network.
    from photosearch.core.vision.encoder import _FeatureBody, _lite_weights_path, _load_state_dict
    from photosearch.core.vision.models.efficientnet_lite import EfficientNetLite

    raw = EfficientNetLite(encoder.name)
    weights = _lite_weights_path(encoder.name)
    assert weights is not None
    raw.load_state_dict(_load_state_dict(weights), strict=True)
    plain = _FeatureBody(raw).eval()
    naive_net = copy.deepcopy(plain).to(memory_format=torch.contiguous_format)
    net = plain.to(memory_format=torch.channels_last)

    def naive(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            x = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous().float()
            x = (x - mean) / std
            f = naive_net(x)
            return f, fc(f)

    def prep(batch: np.ndarray) -> torch.Tensor:
        return network_input(encoder, batch).contiguous(memory_format=torch.channels_last)

    def app(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        e = encoder.encode_arrays(batch)
        return torch.from_numpy(e.features), torch.from_numpy(e.probs)

    def channels_last(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            f = net(prep(batch))
            return f, fc(f)

    def bf16(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            f = net(prep(batch))
            return f.float(), fc(f).float()

    variants: dict[str, Forward] = {
        "naive NCHW fp32 (baseline)": naive,
        "app encode_arrays, torch (BN folded)": app,
        "channels_last fp32 (BN not folded)": channels_last,
        "bf16 autocast": bf16,
    }
    fused = fuse_bn(copy.deepcopy(net))

    def bn_folded(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            f = fused(prep(batch))
            return f, fc(f)

    variants["channels_last + BN folded"] = bn_folded
    variants.update(openvino_variants(encoder))
    if not want_jit:
        return variants
    example = prep(sample_batch(encoder, 32))
    with torch.inference_mode():
        traced = torch.jit.freeze(torch.jit.trace(copy.deepcopy(net).eval(), example))
        with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):
            traced_bf16 = torch.jit.freeze(torch.jit.trace(copy.deepcopy(net).eval(), example))

    def jit(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            f = traced(prep(batch))
            return f, fc(f)

    def jit_bf16(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            f = traced_bf16(prep(batch))
            return f.float(), fc(f.float())

    variants["jit.trace+freeze fp32"] = jit
    variants["jit.trace+freeze bf16"] = jit_bf16
    if want_compile:
        t = time.perf_counter()
        compiled = torch.compile(copy.deepcopy(net).eval())

        def comp(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            with torch.inference_mode():
                f = compiled(prep(batch))
                return f, fc(f)

        comp(sample_batch(encoder, 32))
        print(f"   torch.compile warm-up: {time.perf_counter() - t:.1f} s")
        variants["torch.compile fp32"] = comp
    return variants


def openvino_variants(encoder: ImageEncoder) -> dict[str, Forward]:
    """The app's OpenVINO path (float32) and, for reference, OpenVINO at the CPU plugin's
    default precision (bf16 on CPUs with AMX / AVX512-BF16)."""
    from photosearch.core.vision.encoder import BackendUnavailableError
    from photosearch.core.vision.models.openvino_body import OpenVinoBody, import_openvino

    try:
        ov_encoder = load_encoder(encoder.name, backend="openvino")
    except BackendUnavailableError as exc:
        print(f"   OpenVINO not measured: {exc}")
        return {}
    ov = import_openvino()  # telemetry off
    fc = encoder._classifier
    example = torch.zeros(2, 3, encoder.preprocess.size, encoder.preprocess.size)
    with torch.no_grad():
        model = ov.convert_model(encoder._network, example_input=example)
    model.reshape([-1, 3, encoder.preprocess.size, encoder.preprocess.size])
    compiled = ov.Core().compile_model(
        model, "CPU", {"INFERENCE_NUM_THREADS": torch.get_num_threads()}
    )
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    default_body = OpenVinoBody(compiled)

    def app_openvino(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        e = ov_encoder.encode_arrays(batch)
        return torch.from_numpy(e.features), torch.from_numpy(e.probs)

    def default_precision(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        f = default_body(network_input(encoder, batch))
        with torch.inference_mode():
            return f, fc(f)

    return {
        "app encode_arrays, OpenVINO fp32": app_openvino,
        f"OpenVINO default precision ({precision})": default_precision,
        **onnxruntime_variant(encoder),
    }


def onnxruntime_variant(encoder: ImageEncoder) -> dict[str, Forward]:
    """ONNX Runtime's CPU provider on the same network, when onnxruntime and onnx are installed
    (they are not dependencies; measured to choose between it and OpenVINO)."""
    import importlib.util
    import tempfile
    import warnings

    if not (importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx")):
        print("   ONNX Runtime not measured: pip install onnxruntime onnx")
        return {}
    import onnxruntime as ort

    size = encoder.preprocess.size
    path = Path(tempfile.mkdtemp(prefix="photosearch-ort-")) / "body.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder._network,
            (torch.zeros(2, 3, size, size),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["f"],
            dynamic_axes={"x": {0: "n"}, "f": {0: "n"}},
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    fc = encoder._classifier

    def onnxruntime(batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = network_input(encoder, batch).numpy()
        f = torch.from_numpy(session.run(None, {"x": x})[0])
        with torch.inference_mode():
            return f, fc(f)

    return {"ONNX Runtime fp32 (CPU provider)": onnxruntime}


def fuse_bn(net: torch.nn.Module) -> torch.nn.Module:
    """Fold every BatchNorm that follows a conv into the conv (exact up to rounding)."""
    pairs = {
        "_conv_stem": "_bn0",
        "_conv_head": "_bn1",
        "_expand_conv": "_bn0",
        "_depthwise_conv": "_bn1",
        "_project_conv": "_bn2",
    }
    for module in list(net.modules()):
        for conv_name, bn_name in pairs.items():
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if not isinstance(conv, torch.nn.Conv2d) or not isinstance(bn, torch.nn.BatchNorm2d):
                continue
            with torch.no_grad():
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                conv.weight.mul_(scale.view(-1, 1, 1, 1))
                bias = bn.bias - bn.running_mean * scale
                if conv.bias is not None:
                    bias = bias + conv.bias * scale
                conv.bias = torch.nn.Parameter(bias)
            setattr(module, bn_name, torch.nn.Identity())
    return net.to(memory_format=torch.channels_last)


def top5(probs: torch.Tensor) -> np.ndarray:
    return torch.topk(probs.float(), 5, dim=1).indices.numpy()


def check(encoder: ImageEncoder, variants: dict[str, Forward], limit: int) -> None:
    arrays = all_samples(encoder)[:: max(1, 360 // limit)]
    naive = variants["naive NCHW fp32 (baseline)"]
    outs = [naive(arrays[i : i + 32]) for i in range(0, len(arrays), 32)]
    ref_f, ref_p = torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
    ref_top = top5(torch.softmax(ref_p, 1) if ref_p.min() < 0 else ref_p)
    ref_f = torch.nn.functional.normalize(ref_f.float(), dim=1)
    print(f"   correctness on {len(arrays)} sample photos vs the float32 reference:")
    for name, fn in variants.items():
        outs = [fn(arrays[i : i + 32]) for i in range(0, len(arrays), 32)]
        f = torch.cat([o[0].float() for o in outs])
        p = torch.cat([o[1].float() for o in outs])
        probs = (
            p
            if (p.min() >= 0 and torch.allclose(p.sum(1), torch.ones(len(p)), atol=1e-3))
            else torch.softmax(p, 1)
        )
        top = top5(probs)
        same_order = float((top == ref_top).all(axis=1).mean())
        same_set = float(np.mean([set(a) == set(b) for a, b in zip(top, ref_top)]))
        same_top1 = float((top[:, 0] == ref_top[:, 0]).mean())
        cos = (torch.nn.functional.normalize(f.float(), dim=1) * ref_f).sum(1)
        print(
            f"   {name:32s} top-5 same order {same_order:6.1%}  same set {same_set:6.1%}  "
            f"top-1 {same_top1:6.1%}  feature cosine min {float(cos.min()):.5f}",
            flush=True,
        )


def cache_check_cost(repeat: int = 7) -> None:
    """Best-of-``repeat`` time of the two checks on every load of the cached OpenVINO model:
    the SHA-256 of its files against the manifest, and the probe input through the model."""
    from photosearch.core.vision.encoder import model_cache_dir
    from photosearch.core.vision.models.model_cache import CachedModel
    from photosearch.core.vision.models.openvino_body import _probe_input

    encoder = load_encoder(backend="openvino")  # makes the cache when it is not there yet
    xml = next((model_cache_dir() / "openvino").glob(f"{encoder.model_id}*.xml"))
    cache = CachedModel(xml.parent, xml.stem)
    probe = _probe_input(encoder.preprocess.size)

    def best(fn: Callable[[], object]) -> float:
        return min(_common.timed(fn, repeat)) * 1000

    sizes = " + ".join(f"{path.stat().st_size / 2**20:.1f} MiB" for path in cache.files)
    print(f"   digests of {sizes}: {best(cache.verify_files):.0f} ms")
    print(f"   probe ({tuple(probe.shape)}): {best(lambda: encoder._body(probe)):.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--compile", action="store_true", help="also try torch.compile (slow warm-up)")
    ap.add_argument("--check", action="store_true", help="compare top-5 on the sample photos")
    ap.add_argument("--jit", action="store_true", help="also try torch.jit.trace + freeze")
    ap.add_argument("--check-photos", type=int, default=360, help="photos for --check")
    ap.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=None,
        help="also time the app path at these torch thread counts",
    )
    ap.add_argument(
        "--cache-check",
        action="store_true",
        help="only time what every load of the cached OpenVINO model checks (digests, probe)",
    )
    args = ap.parse_args()
    if args.cache_check:
        cache_check_cost()
        return

    default_threads = torch.get_num_threads()
    encoder = load_encoder(backend="torch")
    app_threads = torch.get_num_threads()
    _common.header(f"encoder: {encoder.name}, batch {args.batch}")
    print(f"   torch default threads {default_threads}, app configure_threads() -> {app_threads}")
    batch = sample_batch(encoder, args.batch)
    variants = make_variants(encoder, args.compile, args.jit)
    if args.check:
        check(encoder, variants, args.check_photos)

    base_name = "naive NCHW fp32 (baseline)"
    base = variants[base_name]
    results: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        fn(batch)  # warm-up (oneDNN primitive caches, autocast)
    for _ in range(args.repeat):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn(batch)
            results[name].append(time.perf_counter() - t)
            if name != base_name:  # interleave the baseline between variants
                t = time.perf_counter()
                base(batch)
                results[base_name].append(time.perf_counter() - t)
    base_rate = args.batch / float(np.median(results[base_name]))
    print(
        f"   {'variant':32s} {'images/s':>9s} {'x naive':>8s}   (median of {args.repeat} batches)"
    )
    for name, times in results.items():
        rate = args.batch / float(np.median(times))
        print(f"   {name:32s} {rate:9.1f} {rate / base_rate:8.2f}")

    for threads in args.threads or []:
        torch.set_num_threads(threads)
        app, b = variants["app encode_arrays, torch (BN folded)"], []
        a = []
        app(batch)
        for _ in range(args.repeat):
            t = time.perf_counter()
            app(batch)
            a.append(time.perf_counter() - t)
            t = time.perf_counter()
            base(batch)
            b.append(time.perf_counter() - t)
        ratio = float(np.median(b)) / float(np.median(a))
        print(
            f"   app path at torch threads={threads}: {args.batch / np.median(a):.1f} images/s, "
            f"{ratio:.2f} x naive (naive also at {threads} threads)"
        )
    torch.set_num_threads(app_threads)


if __name__ == "__main__":
    main()
