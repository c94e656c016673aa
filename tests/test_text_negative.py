"""Negative terms on real photos: "boat -sail" keeps boats and drops the sailing ones."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from photosearch.core.text.embedder import build_embedder, top_k
from photosearch.core.text.query import LibraryArrays, compile_query, score_query
from photosearch.core.text.semantic import default_model
from photosearch.core.vision.imagenet import class_names

LABELS = ("sailboat", "ferry", "car", "helicopter", "dog")


@pytest.fixture(scope="module")
def boats(real_encoder, sample_dir):  # type: ignore[no-untyped-def]
    with open(sample_dir / "labels.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] in LABELS]
    enc = real_encoder.encode_paths([sample_dir / r["file"] for r in rows])
    ids, probs = top_k(enc.probs)
    semantic = build_embedder().embed(enc.features, ids, probs)
    return LibraryArrays(semantic, ids, probs, enc.features), np.array([r["label"] for r in rows])


def _top(query: str, library: LibraryArrays, labels: np.ndarray, k: int) -> list[str]:
    return list(labels[np.argsort(-score_query(query, library), kind="stable")[:k]])


def test_sail_finds_sailboats_and_boat_minus_sail_drops_them(boats) -> None:  # type: ignore[no-untyped-def]
    library, labels = boats
    assert _top("sail", library, labels, 8).count("sailboat") == 8
    assert _top("boat", library, labels, 5).count("sailboat") >= 3
    without = _top("boat -sail", library, labels, 5)
    assert "sailboat" not in without and "ferry" in without


def test_imagenet_yawl_photos_count_as_sailing_vessels() -> None:
    # ImageNet's "yawl" photos are two-masted yachts; WordNet's id for it is a rowing boat.
    yawl = class_names().index("yawl")
    sail = default_model().concept("sail").class_weights
    assert sail[yawl] >= 0.5
    assert sail[yawl] == pytest.approx(sail[class_names().index("schooner")])


def test_a_negative_part_word_weighs_as_much_as_a_negative_whole() -> None:
    model = default_model()
    weights = compile_query("boat -sail", model).class_weights
    schooner, yawl, canoe = (class_names().index(n) for n in ("schooner", "yawl", "canoe"))
    assert weights[schooner] <= -0.8 and weights[yawl] <= 0.05  # boat 1.0, sail -1.0
    assert weights[canoe] >= 0.8
    # Positive part words keep their half weight.
    assert compile_query("sail", model).class_weights[schooner] == pytest.approx(0.5, abs=0.01)
