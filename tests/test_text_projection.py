"""The trainable (DeViSE-style) projection: training, safe save/load, embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photosearch.core.evaluation.training import label_targets, loss_value, train_projection
from photosearch.core.text.embedder import ProjectionEmbedder, build_embedder
from photosearch.core.text.projection import Projection, ProjectionError
from photosearch.core.text.semantic import default_model

WORDS = ["dog", "pizza", "car", "flower"]


def _tiny(seed: int = 0, per: int = 12, dim: int = 32) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(WORDS), dim))
    x = np.concatenate([c + 0.3 * rng.standard_normal((per, dim)) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [w for w in WORDS for _ in range(per)]


@pytest.mark.parametrize("loss", ["rank", "cosine"])
def test_training_reduces_loss(loss: str) -> None:
    model = default_model()
    x, labels = _tiny()
    result = train_projection(x, labels, model, loss=loss, epochs=40, lr=1e-2, anchor=0.0)
    assert result.losses[-1] < 0.5 * result.losses[0]
    projected = result.projection.project(x)
    # Each photo is now nearest its own label's vector.

    names, targets = label_targets(labels, model)
    predicted = [names[i] for i in np.argmax(projected @ targets.T, axis=1)]
    assert np.mean(np.array(predicted) == np.array(labels)) > 0.9
    before = Projection(np.zeros_like(result.projection.matrix) + 1e-3, model.space_id)
    assert loss_value(result.projection, x, labels, model, loss) < loss_value(
        before, x, labels, model, loss
    )


def test_deterministic() -> None:
    x, labels = _tiny()
    a = train_projection(x, labels, epochs=5, seed=3).projection.matrix
    b = train_projection(x, labels, epochs=5, seed=3).projection.matrix
    np.testing.assert_array_equal(a, b)


def test_save_load_and_embed(tmp_path: Path) -> None:
    model = default_model()
    x, labels = _tiny(dim=1280, per=4)
    proj = train_projection(x, labels, model, epochs=3).projection
    path = tmp_path / "proj.npz"
    proj.save(path)
    loaded = Projection.load(path)
    np.testing.assert_array_equal(loaded.matrix, proj.matrix)
    assert loaded.space_id == model.space_id and loaded.meta["labels"] == sorted(WORDS)
    embedder = build_embedder(projection=path)
    assert isinstance(embedder, ProjectionEmbedder)
    assert embedder.space_id != build_embedder().space_id
    ids = np.zeros((len(x), 32), np.int16)
    probs = np.full((len(x), 32), 1 / 32, np.float32)
    out = embedder.embed(x, ids, probs)
    assert out.shape == (len(x), 50)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ProjectionError, match="1280"):
        loaded.project(np.zeros((2, 64), np.float32))


def test_refuses_pickled_and_foreign_files(tmp_path: Path) -> None:
    bad = tmp_path / "objects.npz"
    np.savez(bad, matrix=np.array([object()], dtype=object), meta=np.array("{}"))
    with pytest.raises(ProjectionError):
        Projection.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, matrix=np.zeros((4, 4), np.float32), meta=np.array('{"format": "x"}'))
    with pytest.raises(ProjectionError, match="not a photosearch projection"):
        Projection.load(other)
    mismatch = Projection(np.zeros((8, 50), np.float32), "some-other-vectors-50d")
    with pytest.raises(ValueError, match="retrain"):
        ProjectionEmbedder(mismatch)


def test_needs_two_labels() -> None:
    x, _ = _tiny()
    with pytest.raises(ProjectionError):
        train_projection(x[:5], ["dog"] * 5)
