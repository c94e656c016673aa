"""Taught words: the API the CLI and the GUI share (list, teach, rename, remove, export, import).

A taught word is fitted from the stored visual vectors of its example photos, against a random
sample of the library (:mod:`photosearch.core.teach.fit`); it is scored at query time over the
in-memory index, so photos indexed later match it with no extra pass. Examples are kept by
content hash: moving a folder or re-indexing keeps them. When the image model changes the word is
refitted from its examples once they are indexed again (:meth:`Words.refit_stale`).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.errors import TaughtWordProblem
from photosearch.core.library import taught as store
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.teach.fit import (
    DEFAULT_METHOD,
    METHODS,
    FitError,
    FittedWord,
    background_rows,
    fit_word,
)
from photosearch.core.text.stopwords import STOP_WORDS

EXPORT_FORMAT = "photosearch-taught-words"
EXPORT_VERSION = 1
_TOKEN = re.compile(r"\w+")


class TeachError(TaughtWordProblem, ValueError):
    """Bad input for teaching (message is user-facing); nothing was changed."""


@dataclass(frozen=True)
class TaughtWord:
    """A taught word as the user sees it."""

    word: str
    positives: int  # example photos ("this is it")
    negatives: int  # "not this" photos
    method: str
    model_id: str  # the image model it is fitted for
    current: bool  # fitted for the library's image model (else refitted or refused at search)
    created_at: float
    changed_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "positives": self.positives,
            "negatives": self.negatives,
            "method": self.method,
            "model": self.model_id,
            "current": self.current,
            "created_at": round(self.created_at, 3),
            "changed_at": round(self.changed_at, 3),
        }


def normalise_word(text: str) -> str:
    """The stored form of a word: lower case, single spaces. Raises :class:`TeachError` for what
    cannot be a word of the query language."""
    word = " ".join(str(text).lower().split())
    tokens = _TOKEN.findall(word)
    if not tokens:
        raise TeachError("the word is empty: give a word, e.g. photosearch teach rex PHOTO")
    if all(t in STOP_WORDS for t in tokens):
        raise TeachError(
            f"{word!r} has only stop-words ('the', 'of', ...): give a word with meaning"
        )
    if "+" in word or ":" in word or word.startswith("-"):
        raise TeachError(f"{word!r} cannot be a word: '+', ':' and a leading '-' belong to queries")
    return word


def prior_weight(examples: int) -> float:
    """How much a word's zero-shot meaning counts beside ``examples`` photos: as one more example
    (docs/teach.md has the measurement)."""
    return 1.0 / (1.0 + examples)


class Words:
    """The taught words of one library. ``index``: the in-memory index to fit from (the search's
    own, so both see the same photos); a new one otherwise."""

    def __init__(self, library: Library, index: VectorIndex | None = None) -> None:
        self.library = library
        self.index = index or VectorIndex(library)

    # --- reading ------------------------------------------------------------------------
    def list_words(self) -> list[TaughtWord]:
        counts = self._counts()
        model = self.library.visual_model()
        return [
            self._public(row, counts.get(row.id, (0, 0)), model)
            for row in store.read_words(self.library)
        ]

    def get(self, word: str) -> TaughtWord | None:
        row = store.read_word(self.library, _key(word))
        if row is None:
            return None
        return self._public(row, self._counts().get(row.id, (0, 0)), self.library.visual_model())

    def in_query(self, text: str) -> list[TaughtWord]:
        """The taught words a query uses (for a results header: "taught from 5 photos");
        [] for a query that does not parse."""
        # lazy: the query language brings WordNet and ConSE (~40 ms of imports), which the GUI
        # loads with its first text query, after its first paint
        from photosearch.core.text.query import QuerySyntaxError, parse_query

        try:
            terms = parse_query(text).text_terms
        except QuerySyntaxError:
            return []
        found = [self.get(t.text) for t in terms if t.text is not None]
        return [w for w in found if w is not None]

    def examples(self, word: str) -> tuple[list[int], list[int]]:
        """Photo ids (indexed photos only) of the word's positive and negative examples."""
        row = self._row(word)
        examples = store.read_examples(self.library, row.id)
        ids = store.indexed_photo_ids_by_hash(self.library, [e.content_hash for e in examples])
        pos = [ids[e.content_hash] for e in examples if e.positive and e.content_hash in ids]
        neg = [ids[e.content_hash] for e in examples if not e.positive and e.content_hash in ids]
        return pos, neg

    def fitted(self) -> dict[str, tuple[FittedWord, int]]:
        """Every word usable for the library's current image model: (fit, number of positives).
        Words fitted for another model are refitted first where their photos are indexed."""
        rows = store.read_words(self.library)
        if not rows:
            return {}
        model = self.library.visual_model()
        if any(row.model_id != model for row in rows) and self.refit_stale():
            rows = store.read_words(self.library)
        counts = self._counts()
        return {
            row.word: (FittedWord(row.method, row.weights, row.bias), counts.get(row.id, (0, 0))[0])
            for row in rows
            if row.model_id == model
        }

    def photo_ids_for_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[int]:
        """Library photo ids of files; :class:`TeachError` naming the first that is not an indexed
        photo of the library."""
        ids = []
        for path in paths:
            photo = self.library.photo_by_path(path)
            if photo is None:
                raise TeachError(
                    f"not a photo in the library: {os.fspath(path)} (photosearch index its folder first)"
                )
            if photo.status != "indexed" or not photo.content_hash:
                raise TeachError(f"{os.fspath(path)} is not indexed yet ({photo.status})")
            ids.append(photo.id)
        return ids

    # --- changing -----------------------------------------------------------------------
    def teach(
        self,
        word: str,
        positives: Sequence[int],
        negatives: Sequence[int] = (),
        replace: bool = False,
        method: str = DEFAULT_METHOD,
    ) -> TaughtWord:
        """Teach ``word`` from photo ids: added to what it knew (a photo's latest mark wins), or
        instead of it with ``replace``. Raises :class:`TeachError` and changes nothing on bad input."""
        key = normalise_word(word)
        pos_hashes = self._hashes(positives)
        neg_hashes = self._hashes(negatives)
        both = set(pos_hashes) & set(neg_hashes)
        if both:
            raise TeachError("the same photo cannot be an example and a 'not this' photo")
        if not pos_hashes and replace:
            raise TeachError("a word needs at least one example photo")
        marks: dict[str, bool] = {}
        existing = store.read_word(self.library, key)
        if existing is not None and not replace:
            marks.update(
                (e.content_hash, e.positive) for e in store.read_examples(self.library, existing.id)
            )
        marks.update((h, True) for h in pos_hashes)
        marks.update((h, False) for h in neg_hashes)
        if not any(marks.values()):
            raise TeachError(f"{key!r} needs at least one example photo")
        self._fit_and_save(key, marks, method, existing.created_at if existing else None)
        found = self.get(key)
        assert found is not None
        return found

    def rename(self, old: str, new: str) -> TaughtWord:
        row = self._row(old)
        key = normalise_word(new)
        if key != row.word and store.read_word(self.library, key) is not None:
            raise TeachError(f"there is already a word {key!r}")
        self.library.write(lambda db: store.rename_word(db, row.word, key))
        found = self.get(key)
        assert found is not None
        return found

    def remove(self, word: str) -> bool:
        if store.read_word(self.library, _key(word)) is None:
            return False
        self.library.write(lambda db: store.delete_word(db, _key(word)))
        return True

    def refit_stale(self) -> list[str]:
        """Refit the words fitted for another image model from their examples' current vectors;
        returns the words refitted (those whose examples are not indexed yet stay as they are)."""
        model = self.library.visual_model()
        done = []
        for row in store.read_words(self.library):
            if row.model_id == model or model is None:
                continue
            marks = {e.content_hash: e.positive for e in store.read_examples(self.library, row.id)}
            try:
                self._fit_and_save(row.word, marks, row.method, row.created_at)
            except TeachError:
                continue
            done.append(row.word)
        return done

    # --- export / import ----------------------------------------------------------------
    def export(self, path: str | os.PathLike[str]) -> int:
        """Write every word (fit and example hashes) as JSON; returns how many."""
        model = self.library.visual_model()
        words = []
        for row in store.read_words(self.library):
            if row.model_id != model:
                raise TeachError(
                    f"{row.word!r} is fitted for another image model ({row.model_id}); index the library first"
                )
            examples = store.read_examples(self.library, row.id)
            words.append(
                {
                    "word": row.word,
                    "method": row.method,
                    "weights": [float(v) for v in row.weights],
                    "bias": row.bias,
                    "positives": [e.content_hash for e in examples if e.positive],
                    "negatives": [e.content_hash for e in examples if not e.positive],
                    "created_at": row.created_at,
                    "changed_at": row.changed_at,
                }
            )
        data = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "model": model, "words": words}
        text = json.dumps(data, indent=1)
        tmp = Path(f"{os.fspath(path)}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return len(words)

    def import_file(self, path: str | os.PathLike[str]) -> list[str]:
        """Add (or replace) the words of an export file; all or nothing. Refused for another
        image model, another format or damaged content."""
        words = self._read_export(path)
        model = self.library.visual_model()
        assert model is not None

        def save(db: Any) -> None:
            for item in words:
                store.save_word(
                    db,
                    item["word"],
                    model,
                    item["method"],
                    item["weights"],
                    item["bias"],
                    item["examples"],
                    item["created_at"],
                )

        self.library.write(save)
        return [item["word"] for item in words]

    # --- internals ----------------------------------------------------------------------
    def _read_export(self, path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TeachError(f"cannot read {os.fspath(path)}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise TeachError(f"{os.fspath(path)} is not a photosearch words file")
        if data.get("version") != EXPORT_VERSION:
            raise TeachError(
                f"{os.fspath(path)} has version {data.get('version')}; this photosearch reads {EXPORT_VERSION}"
            )
        model = self.library.visual_model()
        if model is None:
            raise TeachError("the library has no photos yet: photosearch index DIR first")
        if data.get("model") != model:
            raise TeachError(
                f"{os.fspath(path)} was taught with another image model ({data.get('model')}); this library uses {model}"
            )
        dim = self._dim()
        out = []
        for item in data.get("words") or []:
            try:
                word = normalise_word(item["word"])
                weights = np.asarray(item["weights"], np.float32)
                bias = float(item["bias"])
                examples = [(str(h), True) for h in item.get("positives", [])]
                examples += [(str(h), False) for h in item.get("negatives", [])]
                method = str(item.get("method", DEFAULT_METHOD))
                created = float(item.get("created_at") or time.time())
            except (KeyError, TypeError, ValueError) as exc:
                raise TeachError(f"{os.fspath(path)} has a damaged word entry ({exc})") from exc
            if weights.shape != (dim,) or not np.isfinite(weights).all() or not math.isfinite(bias):
                raise TeachError(
                    f"{os.fspath(path)}: the word {word!r} does not fit this image model"
                )
            if method not in METHODS:
                method = DEFAULT_METHOD
            out.append(
                dict(
                    word=word,
                    weights=weights,
                    bias=bias,
                    examples=examples,
                    method=method,
                    created_at=created,
                )
            )
        return out

    def _dim(self) -> int:
        return int(self.index.snapshot().visual.shape[1])

    def _row(self, word: str) -> store.TaughtWordRow:
        row = store.read_word(self.library, _key(word))
        if row is None:
            raise TeachError(f"no taught word {_key(word)!r} (photosearch words lists them)")
        return row

    def _counts(self) -> dict[int, tuple[int, int]]:
        return store.example_counts(self.library)

    @staticmethod
    def _public(row: store.TaughtWordRow, counts: tuple[int, int], model: str | None) -> TaughtWord:
        return TaughtWord(
            row.word,
            counts[0],
            counts[1],
            row.method,
            row.model_id,
            row.model_id == model,
            row.created_at,
            row.changed_at,
        )

    def _hashes(self, photo_ids: Sequence[int]) -> list[str]:
        photos = self.library.photos(photo_ids)
        out = []
        for pid in photo_ids:
            photo = photos.get(int(pid))
            if photo is None or photo.status != "indexed" or not photo.content_hash:
                raise TeachError(f"photo {pid} is not an indexed photo of the library")
            out.append(photo.content_hash)
        return out

    def _fit_and_save(
        self, word: str, marks: dict[str, bool], method: str, created_at: float | None
    ) -> None:
        model = self.library.visual_model()
        if model is None:
            raise TeachError("the library has no photos yet: photosearch index DIR first")
        snap = self.index.snapshot()
        ids = store.indexed_photo_ids_by_hash(self.library, list(marks))
        pos_ids = [ids[h] for h, p in marks.items() if p and h in ids]
        neg_ids = [ids[h] for h, p in marks.items() if not p and h in ids]
        pos_rows = np.flatnonzero(np.isin(snap.ids, pos_ids))
        neg_rows = np.flatnonzero(np.isin(snap.ids, neg_ids))
        if len(pos_rows) == 0:
            raise TeachError(f"none of the example photos of {word!r} is indexed")
        seed = zlib.crc32(word.encode("utf-8"))
        bg = background_rows(len(snap), np.concatenate([pos_rows, neg_rows]), seed)
        try:
            fitted = fit_word(snap.visual[pos_rows], snap.visual[neg_rows], snap.visual[bg], method)
        except FitError as exc:
            raise TeachError(str(exc)) from exc
        examples = list(marks.items())
        self.library.write(
            lambda db: store.save_word(
                db, word, model, fitted.method, fitted.weights, fitted.bias, examples, created_at
            )
        )


def _key(word: str) -> str:
    return " ".join(str(word).lower().split())
