"""ConSE and tags on real encoder outputs of bundled sample photos."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from photosearch.core.text.embedder import TOP_K, ConSEEmbedder, build_embedder, top_k
from photosearch.core.text.query import LibraryArrays, compile_query, score_query
from photosearch.core.text.stopwords import STOP_WORDS
from photosearch.core.text.tags import photo_tags

LABELS = ("dog", "pizza", "sunflower", "kangaroo", "airplane", "chair")
PER_LABEL = 5


@pytest.fixture(scope="module")
def encoded(real_encoder, sample_dir):  # type: ignore[no-untyped-def]
    with open(sample_dir / "labels.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] in LABELS]
    chosen: list[dict] = []
    for label in LABELS:
        chosen += [r for r in rows if r["label"] == label][:PER_LABEL]
    enc = real_encoder.encode_paths([sample_dir / r["file"] for r in chosen])
    ids, probs = top_k(enc.probs)
    embedder = build_embedder()
    semantic = embedder.embed(enc.features, ids, probs)
    labels = np.array([r["label"] for r in chosen])
    return LibraryArrays(semantic, ids, probs, enc.features), labels, embedder


def test_embedder_contract(encoded) -> None:  # type: ignore[no-untyped-def]
    library, _, embedder = encoded
    assert isinstance(embedder, ConSEEmbedder)
    assert library.top_ids.shape[1] == TOP_K and library.top_ids.dtype == np.int16
    assert library.semantic.shape == (len(library), embedder.dim) == (len(library), 50)
    assert library.semantic.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(library.semantic, axis=1), 1.0, atol=1e-5)
    assert embedder.space_id.startswith("conse1-") and "glove" in embedder.space_id
    again = embedder.embed(library.features, library.top_ids, library.top_probs)
    np.testing.assert_array_equal(again, library.semantic)  # deterministic
    assert embedder.embed(
        np.zeros((0, 1280), np.float32), np.zeros((0, 32), int), np.zeros((0, 32))
    ).shape == (0, 50)


@pytest.mark.parametrize("query", ["dog", "pizza", "sunflower"])
def test_conse_vectors_alone_put_the_right_class_first(encoded, query: str) -> None:  # type: ignore[no-untyped-def]
    library, labels, _ = encoded
    cosine = library.semantic @ compile_query(query).vector
    assert labels[int(np.argmax(cosine))] == query


@pytest.mark.parametrize(
    "query", ["dog", "pizza", "sunflower", "kangaroo", "airplane", "chair", "dogs"]
)
def test_full_scorer_top5(encoded, query: str) -> None:  # type: ignore[no-untyped-def]
    library, labels, _ = encoded
    scores = score_query(query, library)
    top5 = labels[np.argsort(-scores, kind="stable")[:5]]
    assert (top5 == query.rstrip("s")).sum() >= 4


def test_hypernym_query(encoded) -> None:  # type: ignore[no-untyped-def]
    library, labels, _ = encoded
    top10 = labels[np.argsort(-score_query("animal", library), kind="stable")[:10]]
    assert set(top10) <= {"dog", "kangaroo"}
    top5 = labels[np.argsort(-score_query("food", library), kind="stable")[:5]]
    assert (top5 == "pizza").sum() >= 4


def test_negative_term(encoded) -> None:  # type: ignore[no-untyped-def]
    library, labels, _ = encoded
    top10 = labels[np.argsort(-score_query("animal -dog", library), kind="stable")[:5]]
    assert "dog" not in set(top10)


def test_tags(encoded) -> None:  # type: ignore[no-untyped-def]
    library, labels, _ = encoded
    for i in np.flatnonzero(labels == "dog"):
        tags = photo_tags(library.top_ids[i], library.top_probs[i], library.semantic[i])
        words = [t for t, _ in tags]
        assert 2 <= len(words) <= 8
        assert "dog" in words
        assert not STOP_WORDS & set(words)
        assert all(w.replace(" ", "").replace("-", "").replace("'", "").isalpha() for w in words)
        scores = [s for _, s in tags]
        assert scores == sorted(scores, reverse=True)


def test_evaluate_library(encoded) -> None:  # type: ignore[no-untyped-def]
    from photosearch.core.evaluation.evaluate import evaluate_library

    library, labels, _ = encoded
    report = evaluate_library(
        library.features, library.top_ids, library.top_probs, labels.tolist(),
        semantic=library.semantic, methods={"conse-plain": {"wordnet_class_vectors": False}},
    )  # fmt: skip
    assert report["photos"] == len(labels) and report["labels"] == len(LABELS)
    rows = {r["method"]: r for r in report["methods"]}
    assert set(rows) == {"library", "conse-plain"}
    assert rows["library"]["readable_queries"] == len(LABELS)
    assert rows["library"]["text_map"] > 0.8  # 5 photos a label: P@10 is at most 0.5 here
    assert report["visual_image_p_at_10"] > 0.3
