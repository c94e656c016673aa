"""Shared test helpers: a tiny random-weight encoder (a fake at the edge) and photo copying."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from photosearch.core.resources import sample_photos_dir
from photosearch.core.vision.encoder import Encoding, Preprocess

# Edits a near-duplicate must survive: the very list the threshold was tuned on.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tune_duplicates_threshold import VARIANTS as VARIANTS  # noqa: E402
from tune_duplicates_threshold import make_variant as make_variant  # noqa: E402

SAMPLE = sample_photos_dir()

# WatchService timings for tests: short debounce and settle times, frequent checks.
WATCH_FAST = dict(
    debounce=0.1,
    max_delay=1.0,
    settle=0.25,
    check_interval=0.3,
    rescan_interval=0.5,
    poll_interval=0.2,
    batch_pause=0.0,
    decode_workers=2,
)


class TinyEncoder:
    """Same interface as ImageEncoder; a 2-layer random CNN on 32x32 inputs. Deterministic."""

    model_id = "tiny-test-encoder"
    vector_dim = 16
    feature_dim = 16

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.preprocess = Preprocess(32, "center", (127.0,) * 3, (128.0,) * 3)
        self.conv = torch.randn(16, 3, 5, 5, generator=g) / 8
        self.fc = torch.randn(1000, 16, generator=g)
        self.calls = 0

    def encode_arrays(self, batch: np.ndarray) -> Encoding:
        self.calls += len(batch)
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().sub(127).div(128)
        f = torch.nn.functional.conv2d(x, self.conv, stride=2).relu().mean(dim=(2, 3))
        f = torch.nn.functional.normalize(f + 1e-6, dim=1)
        probs = torch.softmax(f @ self.fc.T * 5, dim=1)
        return Encoding(f.numpy(), probs.numpy(), f.numpy().copy())

    def encode_paths(self, paths):  # type: ignore[no-untyped-def]
        from photosearch.core.vision.imageio import open_image

        return self.encode_arrays(
            np.stack([self.preprocess(open_image(p, self.preprocess.decode_side)) for p in paths])
        )


def copy_sample(dest: Path, classes: list[str] | None = None, per_class: int = 10) -> list[Path]:
    """Copy sample photos (by class sub-folder) into ``dest``; returns the new paths."""
    out = []
    for class_dir in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
        if classes is not None and class_dir.name not in classes:
            continue
        target = dest / class_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for photo in sorted(class_dir.glob("*.jpg"))[:per_class]:
            shutil.copy2(photo, target / photo.name)
            out.append(target / photo.name)
    return out


def run_json(capsys, *argv: str):  # type: ignore[no-untyped-def]
    """Run the CLI in-process with ``--json``; its parsed output (the command must succeed)."""
    from photosearch.cli import main

    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)
