"""The word space: word vectors used to compare words and photos.

The default is the GloVe 6B 50d subset shipped in ``resources/wordvectors`` (float16 ``.npy`` +
vocabulary text, loads in milliseconds with numpy alone: gensim and scipy, ~2 s and ~90 MB to
import, are not needed for it). A user may point the app at any word2vec (text or binary), GloVe
(text, no header) or fastText (``.vec`` text or ``.bin`` model) file; those are parsed by gensim,
imported only then. Files from a user path are only ever *parsed*, never unpickled: gensim's
``KeyedVectors.load`` is not used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photosearch.core.errors import WordSpaceProblem
from photosearch.core.resources import resource_path

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

DEFAULT_VECTORS = "glove.6B.50d.top10k-plus-nouns"
FASTTEXT_MAGIC = 793712314  # int32 at the start of a fastText .bin model
_SAMPLE = 4 << 20  # bytes hashed from each end of a large user file for its space id
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&.-]*[A-Za-z0-9]|[A-Za-z0-9]")


class WordSpaceError(WordSpaceProblem):
    """A word-vector file cannot be used. The message is meant for the user."""


class PlainVectors:
    """The part of gensim's ``KeyedVectors`` the app reads, over a plain matrix: the app's own
    ``.npy`` format (the default word space) is held in one, so it needs numpy only."""

    def __init__(self, words: list[str], vectors: np.ndarray) -> None:
        self.index_to_key = words
        self.key_to_index = {word: i for i, word in enumerate(words)}
        self.vectors = vectors
        self.vector_size = int(vectors.shape[1])

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.key_to_index[word]]

    def get_vector(self, word: str) -> np.ndarray:
        return self[word]


class WordSpace:
    """Word vectors with lowercase/phrase/OOV handling and a stable identifier.

    ``vectors`` are the *post-processed* unit vectors used for every comparison: the mean word
    vector is removed (all-but-the-top, Mu & Viswanath 2018: it removes the direction shared by
    all words, which otherwise makes a few "hub" words close to everything), then rows are
    L2-normalised.
    """

    def __init__(self, kv: PlainVectors | KeyedVectors, name: str, digest: str) -> None:
        if len(kv.index_to_key) == 0:
            raise WordSpaceError(f"{name}: the file holds no word vectors")
        self.kv = kv
        self.name = name
        self.dim = int(kv.vector_size)
        self.space_id = f"{name}-{self.dim}d-{len(kv.index_to_key)}w-{digest[:10]}"
        raw = np.asarray(kv.vectors, dtype=np.float32)
        # Mean over the (frequency-ordered) head of the vocabulary, so a huge tail of rare
        # tokens does not dominate it.
        self.mean = raw[: min(len(raw), 50_000)].mean(axis=0)
        centred = raw - self.mean
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        self.vectors = (centred / np.maximum(norms, 1e-8)).astype(np.float32)
        self._index = kv.key_to_index
        self._lower: dict[str, int] | None = None
        self._subwords = hasattr(kv, "buckets_word") or type(kv).__name__ == "FastTextKeyedVectors"

    # -- construction --------------------------------------------------------------------
    @classmethod
    def default(cls) -> WordSpace:
        return _default_space()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordSpace:
        """Load any supported file; the format is recognised from its content, not trusted names."""
        path = Path(path)
        if not path.is_file():
            raise WordSpaceError(f"word-vector file not found: {path}")
        head = _read_head(path)
        if path.suffix == ".npy" or head.startswith(b"\x93NUMPY"):
            return cls._load_app_format(path)
        if _is_pickle(head):
            raise WordSpaceError(
                f"{path} looks like a Python pickle (e.g. a gensim .kv/.model file); photosearch "
                "never loads pickles from user files. Export it with "
                "KeyedVectors.save_word2vec_format(path, binary=True) and use that file."
            )
        if len(head) >= 4 and int.from_bytes(head[:4], "little") == FASTTEXT_MAGIC:
            return cls._load_fasttext(path)
        binary = _looks_binary(path, head)
        _check_header(path, binary)
        from gensim.models import KeyedVectors  # ~2 s to import: only for the formats it parses

        try:
            if binary:
                kv = KeyedVectors.load_word2vec_format(
                    str(path), binary=True, unicode_errors="replace"
                )
            else:
                no_header = not _has_word2vec_header(path)
                with warnings.catch_warnings():
                    # gensim (4.4) reads a file without a header twice and leaves its second
                    # handle to the garbage collector, which closes it as the call returns.
                    warnings.simplefilter("ignore", ResourceWarning)
                    kv = KeyedVectors.load_word2vec_format(
                        str(path), binary=False, no_header=no_header, unicode_errors="replace"
                    )
        except (ValueError, EOFError, UnicodeDecodeError, IndexError, OSError) as exc:
            raise WordSpaceError(f"cannot read word vectors from {path}: {exc}") from exc
        except MemoryError as exc:
            raise WordSpaceError(f"not enough memory for the word vectors in {path}") from exc
        return cls(kv, _clean_name(path), _file_digest(path))

    @classmethod
    def _load_app_format(cls, path: Path) -> WordSpace:
        vocab_path = path.with_suffix(".vocab.txt")
        if not vocab_path.is_file():
            raise WordSpaceError(f"{path}: the vocabulary file {vocab_path.name} is missing")
        try:
            matrix = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise WordSpaceError(f"cannot read {path}: {exc}") from exc
        words = vocab_path.read_text(encoding="utf-8").split("\n")
        if words and words[-1] == "":
            words.pop()
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise WordSpaceError(f"{path}: {matrix.shape} vectors for {len(words)} words")
        if len(set(words)) != len(words):
            raise WordSpaceError(f"{vocab_path}: repeated words")
        kv = PlainVectors(words, matrix.astype(np.float32))
        digest = hashlib.sha256()
        digest.update(path.read_bytes())
        digest.update(vocab_path.read_bytes())
        return cls(kv, path.name[: -len(".npy")], digest.hexdigest())

    @classmethod
    def _load_fasttext(cls, path: Path) -> WordSpace:
        # Lazy: gensim (~2 s) only for a fastText .bin file.
        from gensim.models.fasttext import load_facebook_vectors

        try:
            kv = load_facebook_vectors(str(path))
        except Exception as exc:  # gensim raises assorted errors on a malformed model
            raise WordSpaceError(f"cannot read fastText model {path}: {exc}") from exc
        return cls(kv, _clean_name(path), _file_digest(path))

    # -- words ---------------------------------------------------------------------------
    def _row(self, word: str) -> int | None:
        row = self._index.get(word)
        if row is not None:
            return row
        lower = word.lower()
        row = self._index.get(lower)
        if row is not None:
            return row
        if self._lower is None:
            # Cased vocabularies (word2vec GoogleNews): first, i.e. most frequent, casing wins.
            self._lower = {}
            for i, key in enumerate(self.kv.index_to_key):
                self._lower.setdefault(key.lower(), i)
        return self._lower.get(lower)

    def __contains__(self, word: str) -> bool:
        return self._row(word) is not None

    def vector(self, word: str) -> np.ndarray | None:
        """Unit vector of a word or of a multi-word expression the vocabulary holds as one token
        (``stop_sign``, ``stop-sign``); ``None`` if unknown."""
        word = word.strip()
        if not word:
            return None
        candidates = [word]
        if " " in word or "-" in word or "_" in word:
            parts = re.split(r"[ _-]+", word)
            candidates += ["_".join(parts), "-".join(parts), "".join(parts)]
        for candidate in candidates:
            row = self._row(candidate)
            if row is not None:
                return self.vectors[row]
        if self._subwords and " " not in word:
            vec = np.asarray(self.kv.get_vector(word.lower()), dtype=np.float32) - self.mean
            norm = float(np.linalg.norm(vec))
            return vec / norm if norm > 0 else None
        return None

    def phrase_vector(
        self, words: str | Sequence[str], head_weight: float = 2.0
    ) -> np.ndarray | None:
        """Unit vector of a phrase: itself if the vocabulary holds it, else the mean of its known
        words, the last (the head of an English noun compound: "golden *retriever*") weighted
        ``head_weight``. ``None`` if no word is known."""
        if isinstance(words, str):
            whole = self.vector(words)
            if whole is not None:
                return whole
            words = _WORD_RE.findall(words)
        total = np.zeros(self.dim, np.float32)
        known = 0
        for i, word in enumerate(words):
            vec = self.vector(word)
            if vec is None:
                continue
            total += vec * (head_weight if i == len(words) - 1 else 1.0)
            known += 1
        if known == 0:
            return None
        return normalize(total)

    def mean_vector(self, items: Iterable[tuple[np.ndarray | None, float]]) -> np.ndarray | None:
        """Normalised weighted sum of the given vectors (``None`` entries skipped)."""
        vectors, weights = [], []
        for vec, weight in items:
            if vec is not None and weight:
                vectors.append(vec)
                weights.append(weight)
        if not vectors:
            return None
        total = np.asarray(weights, np.float32) @ np.asarray(vectors, np.float32)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 1e-12 else None

    def nearest(
        self, vec: np.ndarray, n: int = 10, rows: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """The words nearest ``vec`` (cosine), among ``rows`` if given."""
        matrix = self.vectors if rows is None else self.vectors[rows]
        sims = matrix @ normalize(vec)
        best = np.argsort(-sims, kind="stable")[:n]
        keys = self.kv.index_to_key
        return [(keys[int(i) if rows is None else int(rows[i])], float(sims[i])) for i in best]


def normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise a vector or the rows of a matrix (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


@lru_cache(maxsize=1)
def _default_space() -> WordSpace:
    return WordSpace._load_app_format(resource_path("wordvectors", f"{DEFAULT_VECTORS}.npy"))


def _read_head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def _is_pickle(head: bytes) -> bool:
    """Pickle protocol 2+ (gensim .kv/.model, torch/joblib dumps) or a zip archive (.npz, torch).

    Older text pickles need no check: they are only ever parsed as text, never executed."""
    return (head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5) or head[:2] == b"PK"


def _has_word2vec_header(path: Path) -> bool:
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
        first = f.readline(256).split()
    return len(first) == 2 and all(p.isdigit() for p in first)


# Word-vector models have at most a few thousand dimensions; anything wider is not one.
MAX_DIMENSIONS = 65_536
# Deflate never expands data by more than this (a run of zeros compresses ~1032:1).
MAX_GZIP_RATIO = 1032


def _check_header(path: Path, binary: bool) -> None:
    """Refuse a word2vec header ("count dim") the file or the machine cannot hold.

    gensim allocates ``count x dim`` float32s before it reads a single vector, so "1000000000000
    1000" asks for 4 PB and dies with MemoryError (or a header just under the machine's memory
    gets the process killed). Each vector takes at least ``dim`` values on disk: 4 bytes each in
    a binary file, a digit and a separator in a text one.
    """
    compressed = _read_head(path, 2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else open(path, "rb") as f:
        first = f.readline(256).split()
    if len(first) != 2 or not all(p.isdigit() for p in first):
        return  # no header (GloVe text): gensim counts the lines itself
    count, dim = int(first[0]), int(first[1])
    if count == 0 or not 1 <= dim <= MAX_DIMENSIONS:
        raise WordSpaceError(
            f"{path}: the header announces {count:,} vectors of {dim:,} dimensions"
        )
    size = path.stat().st_size
    capacity = size * MAX_GZIP_RATIO if compressed else size
    per_vector = 4 * dim + 2 if binary else 2 * dim + 2  # a 1-letter word, a separator, values
    if count * per_vector > capacity:
        raise WordSpaceError(
            f"{path}: the header announces {count:,} vectors of {dim:,} dimensions, at least "
            f"{count * per_vector:,} bytes, but the file holds {size:,} bytes"
        )
    memory = _physical_memory()
    if memory is not None and count * dim * 4 > memory:
        raise WordSpaceError(
            f"{path}: {count:,} vectors of {dim:,} dimensions need {count * dim * 4 / 2**30:,.1f}"
            f" GiB of memory, more than this machine has ({memory / 2**30:,.1f} GiB)"
        )


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not offered on this platform
        return None


def _looks_binary(path: Path, head: bytes) -> bool:
    """word2vec binary: a ``count dim`` text header, then words followed by raw float32s."""
    if head[:2] == b"\x1f\x8b":  # gzip-compressed (gensim reads .gz transparently)
        with gzip.open(path, "rb") as f:
            head = f.read(4096)
    first, _, rest = head.partition(b"\n")
    if not re.fullmatch(rb"\s*\d+\s+\d+\s*", first):
        return False
    try:
        rest[:-8].decode("utf-8")  # a text file's first lines decode; packed floats do not
    except UnicodeDecodeError:
        return True
    return b"\x00" in rest


def _clean_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bin", ".vec", ".txt", ".w2v"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "vectors"


def _file_digest(path: Path) -> str:
    """sha256 of the whole file if small, else of its size and first and last 4 MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        if size <= 3 * _SAMPLE:
            digest.update(f.read())
        else:
            digest.update(f.read(_SAMPLE))
            f.seek(size - _SAMPLE)
            digest.update(f.read(_SAMPLE))
    return digest.hexdigest()
