"""Model and file safety: untrusted weight and word-vector files never run code; no shell.

The malicious files are pickles whose unpickling would create a marker file; the tests check the
load is refused with a clear error and the marker never appears.
"""

from __future__ import annotations

import ast
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import SAMPLE

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "photosearch"
PHOTO = sorted(SAMPLE.glob("*/*.jpg"))[0]
DALMATIAN = SAMPLE / "dog" / "image_0001.jpg"


class Evil:
    """Unpickling this runs a shell command (the classic pickle attack)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def evil_files(tmp_path: Path) -> tuple[Path, list[Path]]:
    marker = tmp_path / "PWNED"
    zipped = tmp_path / "evil-zip.pth"  # torch's zip format, as torch.save writes it
    torch.save({"weight": torch.zeros(2), "payload": Evil(marker)}, zipped)
    legacy = tmp_path / "evil-legacy.pth"  # a bare pickle, as old torch and others write it
    with open(legacy, "wb") as f:
        pickle.dump({"payload": Evil(marker)}, f, protocol=2)
    return marker, [zipped, legacy]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )


def malformed_files(tmp_path: Path) -> list[tuple[Path, str]]:
    garbage = tmp_path / "bad.pth"
    garbage.write_bytes(os.urandom(4096))
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    wrong = tmp_path / "wrong.pth"
    torch.save({"not.a.layer": torch.zeros(3, 3)}, wrong)
    return [
        (garbage, "cannot load model weights"),
        (empty, "cannot load model weights"),
        (wrong, "does not match the efficientnet_lite0 architecture"),
    ]


def test_malicious_and_malformed_weights_are_refused_in_process(tmp_path):
    from photosearch.core.vision.encoder import ModelNotFoundError
    from photosearch.core.vision.loader import load_encoder

    marker, files = evil_files(tmp_path)
    cases = [*((f, "cannot load model weights") for f in files), *malformed_files(tmp_path)]
    for path, fragment in cases:
        with pytest.raises(ModelNotFoundError, match=fragment):
            load_encoder("efficientnet_lite0", weights=path)
        assert not marker.exists(), f"loading {path.name} ran code"


def test_malicious_and_malformed_weights_on_the_command_line(tmp_path):
    """What a user sees: exit status 2, one clear line, no traceback (two files: each run
    imports torch, which is slow)."""
    marker, files = evil_files(tmp_path)
    garbage, fragment = malformed_files(tmp_path)[0]
    for path in (files[0], garbage):
        proc = cli("classify", "--weights", str(path), str(PHOTO))
        assert proc.returncode == 2, (path.name, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert fragment in proc.stderr and str(path) in proc.stderr, proc.stderr
        assert not marker.exists(), f"{path.name} ran code"


def test_weights_are_only_loaded_with_weights_only():
    """Every torch.load in the package passes weights_only=True."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                kw = {k.arg: k.value for k in node.keywords}
                value = kw.get("weights_only")
                assert isinstance(value, ast.Constant) and value.value is True, (
                    f"{path}:{node.lineno} torch.load without weights_only=True"
                )


def test_pickled_word_vectors_are_refused(tmp_path):
    wordspace = pytest.importorskip("photosearch.core.text.wordspace")
    marker = tmp_path / "PWNED"
    candidates = []
    for protocol in (0, 2, 4, 5):  # 0 is a text pickle: it is only ever parsed as text
        path = tmp_path / f"vectors-p{protocol}.kv"
        with open(path, "wb") as f:
            pickle.dump({"king": [0.1, 0.2], "payload": Evil(marker)}, f, protocol=protocol)
        candidates.append(path)
    npz = tmp_path / "vectors.npy"  # a pickled object array in NumPy's format
    import numpy as np

    np.save(npz, np.array([Evil(marker)], dtype=object), allow_pickle=True)
    npz.with_suffix(".vocab.txt").write_text("king\n")
    candidates.append(npz)
    torch_file = tmp_path / "vectors.pt"
    torch.save({"payload": Evil(marker)}, torch_file)
    candidates.append(torch_file)
    for path in candidates:
        with pytest.raises(wordspace.WordSpaceError):
            wordspace.WordSpace.load(path)
        assert not marker.exists(), f"loading {path.name} as word vectors ran code"


SHELL_CALLS = {("os", "system"), ("os", "popen"), ("os", "execl"), ("os", "execlp")}


def test_no_shell_anywhere_in_the_package():
    """Paths from the database are never handed to a shell: no shell=True, os.system, os.popen,
    and no subprocess call with a command given as one string."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    offenders.append(f"{where} shell=")
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                if (func.value.id, func.attr) in SHELL_CALLS:
                    offenders.append(f"{where} {func.value.id}.{func.attr}")
                if (
                    func.value.id == "subprocess"
                    and node.args
                    and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp))
                ):
                    offenders.append(f"{where} subprocess with a command string")
    assert not offenders, offenders
    text = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    assert "shell=True" not in text and "os.system(" not in text and "os.popen(" not in text


# --- The cached OpenVINO model: verified on every load ------------------------------------------


@pytest.fixture(scope="module")
def converted_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache holding the real model converted for OpenVINO, made once for these tests."""
    pytest.importorskip("openvino")
    from photosearch.core.vision.loader import load_encoder

    folder = tmp_path_factory.mktemp("converted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHOTOSEARCH_MODEL_CACHE", str(folder))
        assert load_encoder(backend="openvino", device="cpu").backend == "openvino"
    return folder


def private_cache(converted_cache: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the converted cache to damage: (cache folder, its .xml, its .bin)."""
    cache = tmp_path / "cache"
    shutil.copytree(converted_cache, cache)
    xml = next((cache / "openvino").glob("*.xml"))
    return cache, xml, xml.with_suffix(".bin")


def ir_constants(xml: Path) -> list[dict[str, str]]:
    """The ``Const`` layers of an OpenVINO IR: element_type, offset and size in the .bin."""
    from xml.etree import ElementTree

    layers = ElementTree.parse(xml).getroot().iter("layer")
    return [dict(layer.find("data").attrib) for layer in layers if layer.get("type") == "Const"]  # type: ignore[union-attr]


def shuffle_largest_weights(xml: Path, weights: Path) -> None:
    """Permute the values of the largest float constant in place: same size, other network."""
    import numpy as np

    const = max(
        (c for c in ir_constants(xml) if c["element_type"] == "f32"), key=lambda c: int(c["size"])
    )
    start, size = int(const["offset"]), int(const["size"])
    data = bytearray(weights.read_bytes())
    values = np.frombuffer(bytes(data[start : start + size]), "<f4")
    data[start : start + size] = np.random.default_rng(0).permutation(values).tobytes()
    weights.write_bytes(bytes(data))


def test_shuffled_weights_in_the_cached_model_are_rebuilt_and_match_torch(
    converted_cache, tmp_path, monkeypatch, caplog
):
    """Before: the damaged model was used silently (a 97% dalmatian became "39% nail")."""
    import logging

    import numpy as np

    from photosearch.core.vision.loader import load_encoder

    cache, xml, weights = private_cache(converted_cache, tmp_path)
    shuffle_largest_weights(xml, weights)
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(cache))
    with caplog.at_level(logging.WARNING, logger="photosearch"):
        encoder = load_encoder(backend="openvino", device="cpu")  # OpenVINO runs on the CPU
    assert encoder.backend == "openvino"
    assert "not using the cached OpenVINO model" in caplog.text
    assert f"{weights.name} does not match the digest" in caplog.text
    photos = sorted((SAMPLE / "dog").glob("*.jpg"))[:4]
    torch_encoder = load_encoder(backend="torch", device="cpu")
    got, expected = encoder.encode_paths(photos), torch_encoder.encode_paths(photos)
    assert np.abs(got.vectors - expected.vectors).max() < 1e-4
    assert (np.argsort(-got.probs, 1)[:, :5] == np.argsort(-expected.probs, 1)[:, :5]).all()
    from photosearch.core.vision.models.model_cache import CachedModel

    CachedModel(xml.parent, xml.stem).verify_files()  # the rebuilt files are vouched for


def test_damaged_shapes_in_the_cached_model_are_rebuilt_without_a_traceback(
    converted_cache, tmp_path
):
    """Before: every command died with OpenVINO's "Can not clone with new dims" traceback."""
    import json

    cache, xml, _ = private_cache(converted_cache, tmp_path)
    text = xml.read_text()
    assert 'shape="?,3,224,224"' in text
    xml.write_text(text.replace('shape="?,3,224,224"', 'shape="?,3,225,224"'))
    proc = subprocess.run(
        [sys.executable, "-m", "photosearch", "classify", str(DALMATIAN), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={
            **os.environ,
            "PHOTOSEARCH_MODEL_CACHE": str(cache),
            "PHOTOSEARCH_BACKEND": "openvino",
            "PHOTOSEARCH_DEVICE": "cpu",  # where OpenVINO runs, also on a machine with a GPU
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "not using the cached OpenVINO model" in proc.stderr
    labels = json.loads(proc.stdout)[0]["labels"]
    assert labels[0]["label"] == "dalmatian" and labels[0]["probability"] > 0.9
    assert 'shape="?,3,224,224"' in xml.read_text()  # rebuilt in place


class _TinyBody(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).relu().mean(dim=(2, 3))


def test_the_probe_and_the_manifest_are_checked_on_every_load(tmp_path, caplog):
    """Files that match their digests still have to give the recorded output; a cache without
    a valid manifest (an older version's, or one cut short) is never used."""
    import json
    import logging

    pytest.importorskip("openvino")
    from photosearch.core.vision.models.openvino_body import load_openvino_body

    def load() -> str:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="photosearch"):
            load_openvino_body(_TinyBody().eval(), 32, "tiny", tmp_path, 1)
        return caplog.text

    assert load() == ""
    manifest = next((tmp_path / "openvino").glob("*.json"))
    recorded = json.loads(manifest.read_text())
    assert recorded["format"] == 2
    assert set(recorded["files"]) == {
        p.name for p in manifest.parent.glob("tiny*") if p != manifest
    }
    assert load() == ""  # verified: used as it is

    tampered = json.loads(manifest.read_text())
    import base64

    import numpy as np

    output = np.frombuffer(base64.b64decode(tampered["probe"]["output_float32"]), "<f4") * 1.01
    tampered["probe"]["output_float32"] = base64.b64encode(output.tobytes()).decode()
    manifest.write_text(json.dumps(tampered))
    assert "its output differs from the recorded one" in load()
    assert json.loads(manifest.read_text())["probe"] == recorded["probe"]  # rebuilt

    manifest.unlink()
    assert "it has no manifest" in load()
    assert manifest.exists()
    manifest.write_text(json.dumps({**recorded, "format": 99}))
    assert "its manifest has format 99" in load()
    manifest.write_text("{not json")
    assert "its manifest cannot be read" in load()
    assert json.loads(manifest.read_text())["probe"] == recorded["probe"]
    assert load() == ""
