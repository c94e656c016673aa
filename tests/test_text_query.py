"""Query language parsing and vectorised scoring."""

from __future__ import annotations

import time

import numpy as np
import pytest

from photosearch.core.text.query import (
    ImageTerm,
    LibraryArrays,
    QuerySyntaxError,
    class_mass,
    compile_query,
    parse_query,
    score_query,
)
from photosearch.core.text.semantic import UnknownQueryError, default_model
from photosearch.core.vision.imagenet import NUM_CLASSES


def terms(text: str) -> list[tuple[float, str | None]]:
    return [(t.weight, t.text) for t in parse_query(text).terms]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beach at sunset", [(1.0, "beach at sunset")]),
        ("boat -sail", [(1.0, "boat"), (-1.0, "sail")]),
        ("dog + 2:snow", [(1.0, "dog"), (2.0, "snow")]),
        ("cat+dog", [(1.0, "cat"), (1.0, "dog")]),
        ("0.5:sunset + -2:sea", [(0.5, "sunset"), (-2.0, "sea")]),
        ("t-shirt", [(1.0, "t-shirt")]),
        ("red t-shirt -stripes", [(1.0, "red t-shirt"), (-1.0, "stripes")]),
        ("-rain", [(-1.0, "rain")]),
        ("  fruit   -banana  -apple ", [(1.0, "fruit"), (-1.0, "banana"), (-1.0, "apple")]),
    ],
)
def test_parse(text: str, expected: list[tuple[float, str]]) -> None:
    assert terms(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "+", "dog -", "2:", "dog + 3:"])
def test_parse_errors(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse_query(text)


def test_image_term_and_str() -> None:
    image = ImageTerm(np.ones(4, np.float32) / 2, label="x.jpg")
    query = parse_query("snow -2:rain", images=[image])
    assert [t.image is not None for t in query.terms] == [False, False, True]
    assert str(query) == "+snow -2:rain +<x.jpg>"


def test_unknown_words() -> None:
    with pytest.raises(UnknownQueryError, match="xqzvw"):
        compile_query("xqzvw blorptang")
    with pytest.raises(UnknownQueryError):
        compile_query("the of and")
    # An unknown word next to a known one is skipped and reported.
    compiled = compile_query("dog xqzvw")
    assert compiled.unknown_words == ["xqzvw"]


def _random_library(n: int, k: int = 32, dim: int = 50, seed: int = 0) -> LibraryArrays:
    rng = np.random.default_rng(seed)
    raw = rng.random((n, k)).astype(np.float32) ** 8  # peaked, like softmax outputs
    probs = -np.sort(-raw / raw.sum(axis=1, keepdims=True) * 0.9, axis=1)
    ids = rng.integers(0, NUM_CLASSES, (n, k)).astype(np.int16)
    semantic = rng.standard_normal((n, dim)).astype(np.float32)
    semantic /= np.linalg.norm(semantic, axis=1, keepdims=True)
    return LibraryArrays(semantic, ids, np.ascontiguousarray(probs), None)


def test_class_mass_sparse_equals_dense() -> None:
    lib = _random_library(5000)
    rng = np.random.default_rng(1)
    weights = np.zeros(NUM_CLASSES, np.float32)
    weights[rng.choice(NUM_CLASSES, 40, replace=False)] = rng.standard_normal(40)
    sparse = class_mass(weights, lib)  # n > 2000 and few classes: inverted index
    dense = np.einsum("nk,nk->n", weights[lib.top_ids.astype(np.intp)], lib.top_probs)
    np.testing.assert_allclose(sparse, dense, atol=1e-5)


def test_negative_term_pushes_away() -> None:
    model = default_model()
    lib = _random_library(3000)
    boat = score_query("boat", lib, model)
    boat_not_sail = score_query("boat -sail", lib, model)
    sail = score_query("sail", lib, model)
    # Photos that match "sail" best lose the most.
    top_sail = np.argsort(-sail)[:50]
    drop = (boat - boat_not_sail)[top_sail].mean()
    assert drop > (boat - boat_not_sail).mean()


def test_image_term_ranks_itself_first() -> None:
    rng = np.random.default_rng(3)
    lib = _random_library(500)
    feats = rng.standard_normal((500, 64)).astype(np.float32)
    lib.features = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    query = parse_query(
        "dog", images=[ImageTerm(lib.features[123], lib.semantic[123])], image_weight=3.0
    )
    assert int(np.argmax(score_query(query, lib))) == 123


def test_text_query_speed_100k() -> None:
    """The issue's budget is 15 ms per text query over 100k photos; the bound here is loose
    so that a busy test machine does not fail it (docs/text-search.md has the measurement)."""
    model = default_model()
    lib = _random_library(100_000)
    compiled = compile_query("beach at sunset", model)
    score_query(compiled, lib)  # builds the inverted index once
    best = min(_timed(lambda: score_query(compiled, lib)) for _ in range(7))
    assert best < 0.05
    broad = compile_query("animal", model)  # hundreds of classes: the dense path
    best = min(_timed(lambda: score_query(broad, lib)) for _ in range(5))
    assert best < 0.1


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_empty_library() -> None:
    lib = LibraryArrays(
        np.zeros((0, 50), np.float32),
        np.zeros((0, 32), np.int16),
        np.zeros((0, 32), np.float32),
        np.zeros((0, 8), np.float32),
    )
    assert score_query("dog", lib).shape == (0,)
    query = parse_query("dog", images=[ImageTerm(np.ones(8, np.float32))])
    assert score_query(query, lib).shape == (0,)
