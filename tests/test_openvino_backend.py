"""The OpenVINO inference backend: same vectors as torch, cached conversion, safe fallbacks."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import torch
from helpers import SAMPLE

from photosearch.core.vision.encoder import BackendUnavailableError
from photosearch.core.vision.loader import load_encoder
from photosearch.core.vision.models.openvino_body import (
    OpenVinoUnavailable,
    _check_against_torch,
    load_openvino_body,
)

openvino = pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def torch_encoder():  # type: ignore[no-untyped-def]
    return load_encoder(backend="torch")


@pytest.fixture(scope="module")
def sample_paths() -> list:
    return sorted(SAMPLE.rglob("*.jpg"))[::8]


def test_openvino_gives_the_vectors_and_top5_of_torch(torch_encoder, sample_paths):
    ov = load_encoder(backend="openvino")
    assert ov.backend == "openvino" and torch_encoder.backend == "torch"
    assert ov.model_id == torch_encoder.model_id  # one library serves both
    a, b = ov.encode_paths(sample_paths), torch_encoder.encode_paths(sample_paths)
    assert np.abs(a.vectors - b.vectors).max() < 1e-4
    assert np.abs(a.probs - b.probs).max() < 1e-4
    top_a, top_b = np.argsort(-a.probs, 1)[:, :5], np.argsort(-b.probs, 1)[:, :5]
    assert (top_a == top_b).all()
    single = ov.encode_paths(sample_paths[:1])  # batch 1, as for a query image
    assert np.abs(single.vectors - b.vectors[:1]).max() < 1e-4


def test_auto_picks_openvino_on_the_cpu_and_the_environment_can_force_torch(monkeypatch):
    assert load_encoder().backend == "openvino"
    monkeypatch.setenv("PHOTOSEARCH_BACKEND", "torch")
    assert load_encoder().backend == "torch"


def test_conversion_is_cached_and_reused(tmp_path, monkeypatch, caplog, sample_paths):
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="photosearch"):
        first = load_encoder(backend="openvino")
    assert "converting" in caplog.text
    assert len(list((tmp_path / "openvino").glob("*.xml"))) == 1
    assert len(list((tmp_path / "openvino").glob("*.bin"))) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="photosearch"):
        second = load_encoder(backend="openvino")
    assert "converting" not in caplog.text
    paths = sample_paths[:4]
    # The second load skips torch (photosearch.core.vision.lean_encoder): the same network, with the
    # classifier and projection in numpy instead of torch, so equal up to float32 rounding.
    assert type(second).__name__ == "LeanEncoder"
    a, b = first.encode_paths(paths), second.encode_paths(paths)
    assert np.abs(a.vectors - b.vectors).max() < 1e-5 and np.abs(a.probs - b.probs).max() < 1e-5


def test_a_corrupt_cached_model_is_converted_again(tmp_path, monkeypatch, caplog, torch_encoder):
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(tmp_path))
    load_encoder(backend="openvino")
    xml = next((tmp_path / "openvino").glob("*.xml"))
    xml.write_text(xml.read_text()[:1000])  # as after a crash or a full disk
    with caplog.at_level(logging.INFO, logger="photosearch"):
        again = load_encoder(backend="openvino")
    assert again.backend == "openvino"
    assert "not using the cached OpenVINO model" in caplog.text and "converting" in caplog.text
    paths = sorted((SAMPLE / "pizza").glob("*.jpg"))[:2]
    expected = torch_encoder.encode_paths(paths).vectors
    assert np.abs(again.encode_paths(paths).vectors - expected).max() < 1e-4


def test_without_openvino_auto_uses_torch_and_asking_for_it_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails, as when not installed
    assert load_encoder().backend == "torch"
    with pytest.raises(BackendUnavailableError, match="openvino is not installed"):
        load_encoder(backend="openvino")


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(BackendUnavailableError, match="choose one of auto, torch, openvino"):
        load_encoder(backend="tensorrt")


def _tiny_network(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU6(), torch.nn.AdaptiveAvgPool2d(1)
    ).eval()


class _Flatten(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).flatten(1)


def test_a_conversion_that_disagrees_with_torch_is_refused(tmp_path):
    # The guard run on every fresh conversion: features of another network must not pass.
    body = load_openvino_body(_Flatten(_tiny_network(0)), 32, "tiny-a", tmp_path, 1)
    _check_against_torch(body, _Flatten(_tiny_network(0)), 32)  # the same weights pass
    with pytest.raises(OpenVinoUnavailable, match="differ from torch"):
        _check_against_torch(body, _Flatten(_tiny_network(1)), 32)


def test_index_command_reports_what_ran_the_model(tmp_path, capsys, monkeypatch):
    import json

    from helpers import copy_sample

    from photosearch.cli import main

    photos = tmp_path / "photos"
    copy_sample(photos, ["pizza"], per_class=3)
    db = str(tmp_path / "lib.db")
    assert main(["index", str(photos), "--db", db, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["inference"]
    assert info["backend"] == "openvino" and info["device"] == "cpu"
    assert info["model"].startswith("efficientnet_lite0-")
    monkeypatch.setenv("PHOTOSEARCH_BACKEND", "torch")
    copy_sample(photos, ["dog"], per_class=2)
    assert main(["index", "--db", db]) == 0
    line = capsys.readouterr().out
    assert "embedded 2 in" in line and "photos/s, torch)" in line


def test_a_platform_without_the_tuning_settings_still_gets_float32(caplog):
    from photosearch.core.vision.models.openvino_body import _compile

    class CoreWithoutPinning:  # as OpenVINO on a platform that does not offer CPU pinning
        def compile_model(self, model, device, config):  # type: ignore[no-untyped-def]
            if "ENABLE_CPU_PINNING" in config:
                raise RuntimeError("Unsupported property ENABLE_CPU_PINNING by CPU plugin")
            return config

    with caplog.at_level(logging.INFO, logger="photosearch"):
        config = _compile(CoreWithoutPinning(), None, 3)
    assert config == {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": 3}
    assert "without the optional OpenVINO settings" in caplog.text
    real = _compile(openvino.Core(), _tiny_openvino_model(), 1)
    assert str(real.get_property("INFERENCE_PRECISION_HINT")) in {"f32", "<Type: 'float32'>"}


def _tiny_openvino_model():  # type: ignore[no-untyped-def]
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace, used by OpenVINO
        return openvino.convert_model(
            _Flatten(_tiny_network(0)), example_input=torch.zeros(1, 3, 32, 32)
        )
