"""Text-to-image search: word space, WordNet, ConSE, a query language, tags and evaluation.

The public API (imported lazily, so ``import photosearch.core.text`` stays cheap; gensim and
torch load on first use):

* ``build_embedder(word_vectors=None, projection=None) -> SemanticEmbedder`` and
  ``load_model(word_vectors=None) -> SemanticModel``;
* ``top_k(probs, k=32)``: the (ids, probs) the store keeps;
* ``parse_query``, ``compile_query``, ``score_query``, ``LibraryArrays``, ``ImageTerm``;
* ``photo_tags(top_ids, top_probs, semantic, model)``;
* ``Projection`` (a trained projection; training is in :mod:`photosearch.core.evaluation`);
* errors: ``UnknownQueryError``, ``QuerySyntaxError``, ``WordSpaceError``, ``ProjectionError``.

See docs/text-search.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ConSEEmbedder": "embedder",
    "ProjectionEmbedder": "embedder",
    "SemanticEmbedder": "embedder",
    "TOP_K": "embedder",
    "build_embedder": "embedder",
    "load_model": "embedder",
    "top_k": "embedder",
    "CompiledQuery": "query",
    "ImageTerm": "query",
    "LibraryArrays": "query",
    "Query": "query",
    "QuerySyntaxError": "query",
    "Term": "query",
    "compile_query": "query",
    "parse_query": "query",
    "score_query": "query",
    "SemanticModel": "semantic",
    "UnknownQueryError": "semantic",
    "default_model": "semantic",
    "photo_tags": "tags",
    "Projection": "projection",
    "ProjectionError": "projection",
    "WordSpace": "wordspace",
    "WordSpaceError": "wordspace",
    "WordNet": "wordnet",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
