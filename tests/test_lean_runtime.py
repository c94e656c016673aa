"""The lean runtime: with a warm OpenVINO cache, queries run without torch (and text queries and
tags without gensim); anything off in the cache, or OpenVINO missing, and they run through torch
as before."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLE, copy_sample

pytest.importorskip("openvino")

REPO = Path(__file__).parent.parent
NEW_PHOTO = sorted((SAMPLE / "dog").glob("*.jpg"))[6]  # not among the photos indexed below

# Runs the CLI, then reports which of the heavy packages the process imported.
DRIVER = """
import sys
from photosearch.cli import main
rc = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'gensim', 'scipy'})
print('HEAVY ' + ','.join(heavy), file=sys.stderr)
raise SystemExit(rc)
"""


def run_cli(*args: str, env: dict[str, str], prelude: str = "") -> tuple[object, str, list[str]]:
    """(JSON output, stderr, heavy packages imported) of one CLI command in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-c", prelude + DRIVER, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY ")][-1]
    return json.loads(proc.stdout), proc.stderr, [m for m in heavy[6:].split(",") if m]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A small real library (dogs and pizzas) and the environment to query it with a cache
    the indexing run filled."""
    root = tmp_path_factory.mktemp("lean")
    copy_sample(root / "photos", ["dog", "pizza"], per_class=4)
    env = {
        **os.environ,
        "PHOTOSEARCH_DB": str(root / "library.db"),
        "PHOTOSEARCH_MODEL_CACHE": str(root / "models"),
        "PHOTOSEARCH_BACKEND": "auto",
        "PHOTOSEARCH_DEVICE": "cpu",
    }
    env.pop("PHOTOSEARCH_TORCH_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "photosearch", "index", str(root / "photos")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return root, env


def test_queries_with_a_warm_cache_never_import_torch_or_gensim(library):
    """Before: every query that encoded an image imported torch (~1.3 s, ~500 MB), and every
    query that read the word space imported gensim and scipy (~1 s, ~90 MB)."""
    _, env = library
    similar, stderr, heavy = run_cli("similar", str(NEW_PHOTO), "-k", "4", env=env)
    assert heavy == [], stderr
    assert [Path(r["path"]).parent.name for r in similar] == ["dog"] * 4  # type: ignore[attr-defined]
    found, stderr, heavy = run_cli("search", "dog", "-k", "4", env=env)
    assert heavy == [], stderr
    assert [Path(r["path"]).parent.name for r in found] == ["dog"] * 4  # type: ignore[attr-defined]
    _, stderr, heavy = run_cli("tags", str(NEW_PHOTO), env=env)
    assert heavy == [], stderr


def test_a_damaged_cache_or_the_torch_backend_still_answers_through_torch(library, tmp_path):
    root, env = library
    expected, _, _ = run_cli("similar", str(NEW_PHOTO), env=env)
    cache = tmp_path / "models"
    shutil.copytree(root / "models", cache)
    arrays = next((cache / "openvino").glob("*.npz"))
    data = bytearray(arrays.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte in the classifier weights or the basis
    arrays.write_bytes(bytes(data))
    damaged = {**env, "PHOTOSEARCH_MODEL_CACHE": str(cache)}
    got, stderr, heavy = run_cli("similar", str(NEW_PHOTO), env=damaged)
    assert heavy == ["torch"] and "not using the cached OpenVINO model" in stderr
    assert _same_results(got, expected)
    got, stderr, heavy = run_cli("similar", str(NEW_PHOTO), env=damaged)  # rebuilt: lean again
    assert heavy == [] and "not using" not in stderr and _same_results(got, expected)
    forced = {**env, "PHOTOSEARCH_BACKEND": "torch"}
    got, _, heavy = run_cli("similar", str(NEW_PHOTO), env=forced)
    assert heavy == ["torch"] and _same_results(got, expected)


def _same_results(a: object, b: object) -> bool:
    rows_a, rows_b = list(a), list(b)  # type: ignore[call-overload]
    return [r["path"] for r in rows_a] == [r["path"] for r in rows_b] and all(
        abs(x["score"] - y["score"]) < 1e-3 for x, y in zip(rows_a, rows_b)
    )


def test_the_lean_encoder_gives_the_torch_encoders_numbers(library, monkeypatch, caplog):
    from photosearch.core.vision.encoder import load_torch_encoder
    from photosearch.core.vision.lean_encoder import LeanEncoder
    from photosearch.core.vision.loader import load_encoder

    root, _ = library
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(root / "models"))
    monkeypatch.setenv("PHOTOSEARCH_DEVICE", "cpu")
    lean, reference = load_encoder(), load_torch_encoder(backend="torch")
    assert isinstance(lean, LeanEncoder) and lean.model_id == reference.model_id
    paths = sorted((SAMPLE / "pizza").glob("*.jpg"))[:3] + [NEW_PHOTO]
    a, b = lean.encode_paths(paths), reference.encode_paths(paths)
    for got, want in ((a.vectors, b.vectors), (a.probs, b.probs), (a.features, b.features)):
        assert got.dtype == np.float32 and np.abs(got - want).max() < 1e-4
    assert np.abs(lean.classifier_prototypes - reference.classifier_prototypes).max() < 1e-5
    assert lean.encode_paths([]).vectors.shape == (0, reference.vector_dim)


def test_both_encoders_apply_the_indexers_guards_to_a_path(library, tmp_path, monkeypatch):
    """A FIFO is never opened (it would block for ever), a folder is named as one."""
    from photosearch.core.vision.encoder import load_torch_encoder
    from photosearch.core.vision.imageio import ImageLoadError
    from photosearch.core.vision.loader import load_encoder

    root, _ = library
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(root / "models"))
    monkeypatch.setenv("PHOTOSEARCH_DEVICE", "cpu")
    fifo = tmp_path / "fifo.jpg"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    done = threading.Event()

    def unblock_a_reader() -> None:  # so that a FIFO wrongly opened fails the test, not hangs it
        while not done.wait(2):
            with contextlib.suppress(OSError):  # ENXIO while nobody has it open for reading
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=unblock_a_reader, daemon=True).start()
    try:
        for encoder in (load_encoder(), load_torch_encoder(backend="torch")):
            with pytest.raises(ImageLoadError, match="not a regular file"):
                encoder.encode_paths([fifo])
            with pytest.raises(ImageLoadError, match="is a folder"):
                encoder.encode_paths([folder])
    finally:
        done.set()


def test_other_weights_or_settings_are_not_served_from_the_cache(
    library, tmp_path, monkeypatch, caplog
):
    """The cache records the weights file's digest and the crop: other ones go through torch."""
    from photosearch.core.vision.encoding import lite_weights_path
    from photosearch.core.vision.lean_encoder import load_lean_encoder

    root, _ = library
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(root / "models"))
    weights = lite_weights_path("efficientnet_lite0")
    assert weights is not None
    assert load_lean_encoder("efficientnet_lite0", None, "center") is not None
    assert load_lean_encoder("efficientnet_lite0", None, "whole") is None  # not converted yet
    manifest = next((root / "models" / "openvino").glob("*.json"))
    copy = tmp_path / "models"
    shutil.copytree(root / "models", copy)
    data = json.loads((copy / "openvino" / manifest.name).read_text())
    data["encoder"]["source_weights"]["sha256"] = "0" * 64  # as if made from other weights
    (copy / "openvino" / manifest.name).write_text(json.dumps(data))
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(copy))
    with caplog.at_level(logging.INFO, logger="photosearch"):
        assert load_lean_encoder("efficientnet_lite0", str(weights), "center") is None
    assert "made from other weights" in caplog.text


def test_without_openvino_queries_run_on_torch(library):
    """OpenVINO missing (its import fails): the same answers, through torch."""
    _, env = library
    expected, _, _ = run_cli("similar", str(NEW_PHOTO), env=env)
    missing = "import sys; sys.modules['openvino'] = None  # its import fails\n"
    got, stderr, heavy = run_cli("similar", str(NEW_PHOTO), env=env, prelude=missing)
    assert heavy == ["torch"], stderr
    assert _same_results(got, expected)
