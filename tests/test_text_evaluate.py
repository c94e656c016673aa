"""Retrieval metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photosearch.core.evaluation.evaluate import (
    average_precision,
    image_to_image_p_at_k,
    precision_at_k,
    read_labels,
    read_queries,
    text_to_image,
)
from photosearch.core.text.semantic import UnknownQueryError


def test_average_precision_by_hand() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert average_precision(scores, np.array([1, 0, 1, 0])) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(scores, np.array([0, 0, 0, 1])) == pytest.approx(0.25)
    assert average_precision(scores, np.array([0, 0, 0, 0])) == 0.0
    assert precision_at_k(scores, np.array([1, 0, 1, 0]), k=2) == 0.5


def test_ties_break_by_photo_order() -> None:
    assert average_precision(np.zeros(3), np.array([0, 0, 1])) == pytest.approx(1 / 3)


def test_image_to_image() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16)) * 5
    x = np.concatenate([c + rng.standard_normal((12, 16)) * 0.1 for c in centres])
    labels = [str(i) for i in range(3) for _ in range(12)]
    assert image_to_image_p_at_k(x, labels, k=10) == 1.0
    shuffled = list(np.random.default_rng(1).permutation(labels))
    assert image_to_image_p_at_k(x, shuffled, k=10) < 0.6


def test_text_to_image_counts_unreadable_as_zero() -> None:
    labels = ["a", "a", "b", "b"]

    def score(query: str) -> np.ndarray:
        if query == "b":
            raise UnknownQueryError("no")
        return np.array([1.0, 0.9, 0.1, 0.0])

    r = text_to_image("m", score, labels, {"a": "a", "b": "b"}, k=2)
    assert r.readable == 1 and r.queries == 2
    assert r.p_at_10 == pytest.approx(0.5) and r.map == pytest.approx(0.5)


def test_label_files(tmp_path: Path) -> None:
    for label in ("stop_sign", "dog"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a.jpg").write_bytes(b"")
    paths, labels, queries = read_labels(tmp_path)
    assert labels == ["dog", "stop_sign"] and queries["stop_sign"] == "stop sign"
    (tmp_path / "labels.csv").write_text("file,label,query\ndog/a.jpg,dog,puppy\nx.jpg,cat,\n")
    paths, labels, queries = read_labels(tmp_path)
    assert labels == ["dog", "cat"] and queries == {"dog": "puppy", "cat": "cat"}
    assert read_queries(tmp_path / "labels.csv") == {"dog": "puppy"}


def test_shipped_dev_queries() -> None:
    from photosearch.core.resources import resource_path

    queries = read_queries(resource_path("eval", "photos-dev-queries.csv"))
    assert len(queries) == 36
    assert queries["motorbike"] == "motorcycle" and queries["stop_sign"] == "stop sign"
    assert all("_" not in q for q in queries.values())
