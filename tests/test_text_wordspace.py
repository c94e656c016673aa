"""Word space loading: formats, safety, identifiers, phrases and OOV words."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from photosearch.core.text.wordspace import WordSpace, WordSpaceError

WORDS = ["dog", "cat", "sea", "ocean", "Stop_Sign", "car"]


def _kv(seed: int = 0) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(WORDS, rng.standard_normal((len(WORDS), 8)).astype(np.float32))
    return kv


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_formats(tmp_path: Path, binary: bool) -> None:
    path = tmp_path / ("v.bin" if binary else "v.txt")
    _kv().save_word2vec_format(str(path), binary=binary)
    space = WordSpace.load(path)
    assert space.dim == 8 and len(space.kv.index_to_key) == len(WORDS)
    assert "dog" in space and "DOG" in space and "stop_sign" in space
    # A phrase the vocabulary holds as one token.
    assert space.vector("stop sign") is not None
    np.testing.assert_allclose(np.linalg.norm(space.vector("ocean")), 1.0, atol=1e-5)


def test_glove_text_without_header(tmp_path: Path) -> None:
    kv = _kv()
    path = tmp_path / "glove.txt"
    with open(path, "w", encoding="utf-8") as f:
        for word in WORDS:
            f.write(word + " " + " ".join(f"{x:.5f}" for x in kv[word]) + "\n")
    space = WordSpace.load(path)
    assert len(space.kv.index_to_key) == len(WORDS)
    raw = space.kv["cat"]
    np.testing.assert_allclose(raw, kv["cat"], atol=1e-4)


def test_refuses_pickles_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.touch, (marker,))

    for name in ("vectors.kv", "vectors.model", "vectors.bin", "vectors.txt"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps(Evil(), protocol=4))
        with pytest.raises(WordSpaceError, match="pickle"):
            WordSpace.load(path)
    _kv().save(str(tmp_path / "gensim.kv"))  # gensim's native (pickle) format
    with pytest.raises(WordSpaceError):
        WordSpace.load(tmp_path / "gensim.kv")
    assert not marker.exists()


def test_garbage_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "junk.txt"
    path.write_text("hello world\nthis is not a vector file\n")
    with pytest.raises(WordSpaceError):
        WordSpace.load(path)
    with pytest.raises(WordSpaceError, match="not found"):
        WordSpace.load(tmp_path / "absent.vec")


def test_space_id_follows_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    _kv(0).save_word2vec_format(str(a))
    _kv(1).save_word2vec_format(str(b))
    id_a, id_b = WordSpace.load(a).space_id, WordSpace.load(b).space_id
    assert id_a != id_b and id_a.startswith("a-8d-6w-")
    assert WordSpace.load(a).space_id == id_a


def test_default_space_fast_and_usable() -> None:
    start = time.perf_counter()
    space = WordSpace._load_app_format(  # uncached load
        WordSpace.default().kv
        and __import__("photosearch.core.resources", fromlist=["x"]).resource_path(
            "wordvectors", "glove.6B.50d.top10k-plus-nouns.npy"
        )
    )
    assert time.perf_counter() - start < 1.0
    assert space.dim == 50 and len(space.kv.index_to_key) > 10_000
    assert "glove" in space.space_id
    near = [w for w, _ in space.nearest(space.vector("ocean"), 5)]
    assert "sea" in near
    assert space.vector("kangaroo") is None  # OOV in the 10k default: WordNet handles it
    # A phrase of known words; the head (last word) dominates.
    vec = space.phrase_vector("red car")
    assert vec is not None and float(vec @ space.vector("car")) > float(vec @ space.vector("red"))
    assert space.phrase_vector("xqzvw blorptang") is None


def test_gzipped_text(tmp_path: Path) -> None:
    path = tmp_path / "v.txt.gz"
    _kv().save_word2vec_format(str(path))
    space = WordSpace.load(path)
    assert "ocean" in space and space.space_id.startswith("v-8d-")


def test_fasttext_bin_with_subwords(tmp_path: Path) -> None:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "dog", "runs", "on", "the", "beach"], ["a", "cat", "sleeps"]] * 20
    model = FastText(sentences, vector_size=8, min_count=1, epochs=2, seed=1, workers=1)
    path = tmp_path / "tiny.bin"
    save_facebook_model(model, str(path))
    space = WordSpace.load(path)
    assert space.dim == 8 and "dog" in space
    vec = space.vector("doggies")  # not in the vocabulary: built from character n-grams
    assert vec is not None and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5


def test_the_default_space_loads_without_gensim_to_the_same_numbers(tmp_path: Path) -> None:
    """The shipped word space is read with numpy alone; the same file parsed by gensim (as
    word2vec binary, exact float32) gives the same vectors bit for bit, so the same classes'
    places in the word space (hence search results), and its id is the one stored libraries
    were made with: name-dim-words-sha256(matrix file + vocabulary)."""
    import hashlib

    from photosearch.core.resources import resource_path
    from photosearch.core.text.semantic import SemanticModel
    from photosearch.core.text.wordspace import PlainVectors

    path = resource_path("wordvectors", "glove.6B.50d.top10k-plus-nouns.npy")
    vocab = path.with_suffix(".vocab.txt")
    plain = WordSpace._load_app_format(path)
    assert isinstance(plain.kv, PlainVectors)
    words = vocab.read_text(encoding="utf-8").split("\n")[:-1]
    digest = hashlib.sha256(path.read_bytes() + vocab.read_bytes()).hexdigest()
    assert plain.space_id == f"{path.stem}-50d-{len(words)}w-{digest[:10]}"

    kv = KeyedVectors(vector_size=50)
    kv.add_vectors(words, np.load(path).astype(np.float32))
    binary = tmp_path / "same.bin"
    kv.save_word2vec_format(str(binary), binary=True)
    parsed = WordSpace.load(binary)
    assert type(parsed.kv) is KeyedVectors and parsed.kv.index_to_key == plain.kv.index_to_key
    assert np.array_equal(parsed.vectors, plain.vectors) and np.array_equal(parsed.mean, plain.mean)
    for word in ("ocean", "Dog", "stop sign", "kangaroo"):
        a, b = plain.phrase_vector(word), parsed.phrase_vector(word)
        assert (a is None and b is None) or np.array_equal(a, b)
    vec = plain.vector("beach")
    assert vec is not None and plain.nearest(vec, 8) == parsed.nearest(vec, 8)
    ours, theirs = SemanticModel(space=plain), SemanticModel(space=parsed)
    assert np.array_equal(ours.class_vectors, theirs.class_vectors)
