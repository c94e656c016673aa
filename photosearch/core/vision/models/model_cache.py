"""A converted model in the cache, and the manifest that vouches for it.

A cached model is a file we wrote earlier and read back on every start: a disk error, a crash
half-way through an update or anyone with write access to the cache could have changed it, and a
damaged model gives silently wrong vectors (or crashes OpenVINO). So when the cache is made, a
small JSON manifest is written beside the model files: their SHA-256 and size, and the expected
output on a fixed probe input (torch's, recorded when the conversion was checked against it).
Every load checks the files against the digests before they are parsed, then the caller runs the
probe and compares. The manifest is written last, atomically: a model without a valid manifest
is never trusted.

The manifest has a ``format`` number; readers ignore keys they do not know, so more files or
facts can be recorded later under a new format. Format 2 added, for an image encoder, what it
needs beside the network so that a query can run without torch: ``<stem>.npz`` (classifier
weights and bias, the search basis) and an ``encoder`` entry (model id, preprocessing, and the
size and SHA-256 of the source weights file), checked by
:mod:`photosearch.core.vision.lean_encoder`. The probe input is numpy's (``default_rng(0)``), so it can
be rebuilt without torch.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST_FORMAT = 2
# A cached model is only trusted when its probe output matches the recorded one within this.
MAX_PROBE_DIFFERENCE = 1e-4


class CacheProblem(Exception):
    """The cached model does not match its manifest (or has none); the message says how."""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def probe_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference, infinite when the shapes differ or anything is not finite."""
    if got.shape != expected.shape:
        return float("inf")
    difference = float(np.abs(got.astype(np.float64) - expected.astype(np.float64)).max())
    return difference if np.isfinite(difference) else float("inf")


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]

    def probe_output(self, input_shape: tuple[int, ...]) -> np.ndarray:
        """The recorded output for a probe input of ``input_shape``."""
        probe = self.data["probe"]
        if tuple(probe["input_shape"]) != tuple(input_shape):
            raise CacheProblem(f"its probe was recorded for input {probe['input_shape']}")
        raw = base64.b64decode(probe["output_float32"], validate=True)
        shape = tuple(int(n) for n in probe["output_shape"])
        if len(raw) != 4 * int(np.prod(shape)):
            raise CacheProblem("its recorded probe output has the wrong size")
        return np.frombuffer(raw, dtype="<f4").reshape(shape)

    @property
    def encoder(self) -> dict[str, Any] | None:
        """The encoder facts recorded with the model (None for a bare network)."""
        facts = self.data.get("encoder")
        return facts if isinstance(facts, dict) else None


def probe_shape(input_size: int) -> tuple[int, ...]:
    return (2, 3, input_size, input_size)


def probe_input(input_size: int) -> np.ndarray:
    """The fixed float32 input whose output the manifest records."""
    return np.random.default_rng(0).standard_normal(probe_shape(input_size), dtype=np.float32)


def cache_stem(cache_key: str, openvino_version: str) -> str:
    """The file stem of a converted model: the caller's key and the versions that made it.

    The torch version is read from the installed package's metadata, not by importing it.
    """
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "none"
    text = f"{cache_key}-torch{torch_version}-ov{openvino_version}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


class CachedModel:
    """``<stem>.xml`` + ``<stem>.bin`` (OpenVINO IR), with ``arrays`` also ``<stem>.npz`` (what
    the encoder needs beside the network), and ``<stem>.json`` (the manifest)."""

    def __init__(self, folder: Path, stem: str, arrays: bool = False) -> None:
        self.folder = folder
        self.xml = folder / f"{stem}.xml"
        self.bin = folder / f"{stem}.bin"
        self.npz = folder / f"{stem}.npz"
        self.manifest = folder / f"{stem}.json"
        self.arrays = arrays

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.xml, self.bin, self.npz) if self.arrays else (self.xml, self.bin)

    def exists(self) -> bool:
        return any(path.exists() for path in (*self.files, self.manifest))

    def verify_files(self) -> Manifest:
        """The manifest, once every model file matches its recorded size and SHA-256."""
        manifest = self._read_manifest()
        recorded = manifest.data["files"]
        for path in self.files:
            entry = recorded.get(path.name)
            if not isinstance(entry, dict):
                raise CacheProblem(f"its manifest does not list {path.name}")
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise CacheProblem(f"{path.name}: {exc.strerror or exc}") from exc
            if size != entry.get("bytes") or file_digest(path) != entry.get("sha256"):
                raise CacheProblem(
                    f"{path.name} does not match the digest recorded when it was made"
                )
        return manifest

    def _read_manifest(self) -> Manifest:
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CacheProblem(
                "it has no manifest (made by an older version, or cut short)"
            ) from exc
        except (OSError, ValueError) as exc:
            raise CacheProblem(f"its manifest cannot be read ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise CacheProblem(f"its manifest has format {found!r}, not {MANIFEST_FORMAT}")
        if not isinstance(data.get("files"), dict) or not isinstance(data.get("probe"), dict):
            raise CacheProblem("its manifest lacks the files or the probe")
        return Manifest(data)

    def write_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Write ``<stem>.npz`` (next to its final name, then renamed)."""
        tmp = self.npz.with_name(f".{self.npz.stem}.{os.getpid()}.tmp.npz")
        little_endian = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in arrays.items()}
        np.savez(tmp, **little_endian)  # type: ignore[arg-type]
        os.replace(tmp, self.npz)

    def read_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``<stem>.npz`` (call after :meth:`verify_files`); never unpickles."""
        try:
            with np.load(self.npz, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise CacheProblem(f"{self.npz.name} cannot be read ({exc})") from exc

    def write_manifest(
        self,
        probe_shape: tuple[int, ...],
        expected: np.ndarray,
        encoder: dict[str, Any] | None = None,
    ) -> None:
        """Record the files as they are now, ``expected`` as the probe's output and the
        ``encoder`` facts. Atomic."""
        output = np.ascontiguousarray(expected, dtype="<f4")
        data: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "files": {
                path.name: {"bytes": path.stat().st_size, "sha256": file_digest(path)}
                for path in self.files
            },
            "probe": {
                "input": "numpy default_rng(0).standard_normal, float32",
                "input_shape": list(probe_shape),
                "output_shape": list(output.shape),
                "output_float32": base64.b64encode(output.tobytes()).decode("ascii"),
            },
            "encoder": encoder,
        }
        tmp = self.manifest.with_name(f".{self.manifest.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.manifest)

    def remove(self) -> None:
        """Delete the manifest first (so the files are no longer vouched for), then the files."""
        for path in (self.manifest, *self.files):
            # gone already, or a read-only cache: it just stays untrusted
            with contextlib.suppress(OSError):
                path.unlink()
