"""Retrieval metrics over in-memory arrays: image->image and text->image P@10 and mAP.

Everything is deterministic: ties are broken by photo order (stable sorts).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from photosearch.core.text.query import (
    GOOD_MATCH,
    LibraryArrays,
    compile_query,
    match_confidence,
    text_scores,
)
from photosearch.core.text.semantic import SemanticModel, UnknownQueryError, default_model
from photosearch.core.text.tags import photo_tags
from photosearch.core.vision.imagenet import classes_by_name


@dataclass
class TextResult:
    method: str
    p_at_10: float  # mean over all queries; an unreadable query counts 0
    map: float  # mean average precision, same convention
    readable: int
    queries: int
    per_query: dict[str, tuple[float, float]] = field(default_factory=dict)  # query -> (P@10, AP)

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "text_p_at_10": round(self.p_at_10, 4),
            "text_map": round(self.map, 4),
            "readable_queries": self.readable,
            "queries": self.queries,
        }


def ranking(scores: np.ndarray) -> np.ndarray:
    """Indices best first; ties keep photo order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def precision_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    order = ranking(scores)[:k]
    return float(np.asarray(relevant)[order].mean()) if len(order) else 0.0


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    relevant = np.asarray(relevant, dtype=bool)
    total = int(relevant.sum())
    if total == 0:
        return 0.0
    hits = relevant[ranking(scores)]
    cumulative = np.cumsum(hits)
    ranks = np.arange(1, len(hits) + 1)
    return float((cumulative[hits] / ranks[hits]).sum() / total)


def image_to_image_p_at_k(vectors: np.ndarray, labels: Sequence[str], k: int = 10) -> float:
    """Leave-one-out: each photo queries all others by cosine; mean fraction of same-label hits
    among the top k."""
    x = np.asarray(vectors, dtype=np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels_arr = np.asarray(labels)
    total = 0.0
    for start in range(0, len(x), 512):
        sims = x[start : start + 512] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        total += float((labels_arr[top] == labels_arr[start + rows, None]).sum())
    return total / (len(x) * k)


def text_to_image(
    method: str,
    score_fn: Callable[[str], np.ndarray],
    labels: Sequence[str],
    queries: dict[str, str],
    k: int = 10,
) -> TextResult:
    """For each label, score the library with its query text; unreadable queries
    (:class:`UnknownQueryError`) count as 0."""
    labels_arr = np.asarray(labels)
    p_values, ap_values, per_query = [], [], {}
    readable = 0
    for label in sorted(set(labels)):
        query = queries.get(label, label.replace("_", " "))
        try:
            scores = score_fn(query)
        except UnknownQueryError:
            p, ap = 0.0, 0.0
        else:
            readable += 1
            relevant = labels_arr == label
            p, ap = precision_at_k(scores, relevant, k), average_precision(scores, relevant)
        p_values.append(p)
        ap_values.append(ap)
        per_query[query] = (p, ap)
    return TextResult(
        method,
        float(np.mean(p_values)),
        float(np.mean(ap_values)),
        readable,
        len(p_values),
        per_query,
    )


# Ablations reported by ``evaluate_library`` (SemanticConfig changes; {} = the app's method).
METHODS: dict[str, dict] = {
    "conse-plain": dict(
        wordnet_class_vectors=False,
        wordnet_query=False,
        hierarchy=False,
        sim_scale=0.0,
        cosine_weight=1.0,
    ),
    "conse-wordnet": dict(hierarchy=False, sim_scale=0.0, cosine_weight=1.0),
    "conse-wordnet+hierarchy": dict(sim_scale=0.0),
    "full (default)": {},
}


def evaluate_library(
    features: np.ndarray,
    top_ids: np.ndarray,
    top_probs: np.ndarray,
    labels: Sequence[str],
    queries: dict[str, str] | None = None,
    semantic: np.ndarray | None = None,
    model: SemanticModel | None = None,
    methods: dict[str, dict] | None = None,
) -> dict:
    """The report of ``photosearch eval``: image->image leave-one-out P@10 of the visual features
    and of each method's semantic vectors, and text->image P@10/mAP/readable queries per method.

    ``semantic``: the library's stored semantic vectors (e.g. from a projection), evaluated as the
    method "library"; ``methods``: ablations to add (default :data:`METHODS`; ``{}`` for none)."""

    base = model or default_model()
    labels = list(labels)
    queries = dict(queries or {})
    for label in labels:
        queries.setdefault(label, label.replace("_", " "))
    ids = np.asarray(top_ids)
    probs = np.asarray(top_probs, np.float32)
    report: dict = {
        "photos": len(labels),
        "labels": len(set(labels)),
        "visual_image_p_at_10": round(image_to_image_p_at_k(features, labels), 4),
        "methods": [],
    }
    runs: list[tuple[str, SemanticModel, np.ndarray]] = []
    if semantic is not None:
        runs.append(("library", base, np.asarray(semantic, np.float32)))
    for name, changes in (METHODS if methods is None else methods).items():
        m = (
            SemanticModel(base.space, base.wordnet, replace(base.config, **changes))
            if changes
            else base
        )
        runs.append((name, m, m.conse(ids.astype(np.intp), probs)))
    for name, m, vectors in runs:
        library = LibraryArrays(vectors, ids, probs, np.asarray(features, np.float32))

        def score(query: str, m: SemanticModel = m, lib: LibraryArrays = library) -> np.ndarray:
            return text_scores(compile_query(query, m), lib)

        result = text_to_image(name, score, labels, queries)
        row = result.as_dict()
        row["semantic_image_p_at_10"] = round(image_to_image_p_at_k(vectors, labels), 4)
        report["methods"].append(row)
    return report


def read_labels(folder: str | os.PathLike[str]) -> tuple[list[Path], list[str], dict[str, str]]:
    """A labelled folder: ``labels.csv`` (``file,label[,query]``) if present, else sub-folder names.
    Returns photo paths, labels and the query for each label (default: label, ``_`` as space)."""
    folder = Path(folder)
    paths: list[Path] = []
    labels: list[str] = []
    queries: dict[str, str] = {}
    csv_path = folder / "labels.csv"
    if csv_path.is_file():
        with open(csv_path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                paths.append(folder / row["file"])
                labels.append(row["label"])
                if row.get("query"):
                    queries.setdefault(row["label"], row["query"])
    else:
        exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            for path in sorted(sub.rglob("*")):
                if path.suffix.lower() in exts:
                    paths.append(path)
                    labels.append(sub.name)
    for label in labels:
        queries.setdefault(label, label.replace("_", " "))
    return paths, labels, queries


def read_queries(csv_path: str | os.PathLike[str]) -> dict[str, str]:
    """label -> query from a ``file,label,query`` CSV (e.g. resources/eval/photos-dev-queries.csv)."""
    out: dict[str, str] = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("query"):
                out.setdefault(row["label"], row["query"])
    return out


def tag_check(
    library: LibraryArrays,
    labels: Sequence[str],
    queries: dict[str, str],
    model: SemanticModel | None = None,
    first: int = 5,
) -> dict:
    """How well tags describe photos, without a list of expected tags:

    * ``label_in_first``: among the photos whose top class lies under their label's word, how
      often the label or a WordNet ancestor of it ("dog", "animal") is among the first tags;
    * ``unrelated_tags``: the share of all tags with no WordNet relation (same synset, ancestor or
      descendant) to any of the photo's top-5 classes."""

    model = model or default_model()
    wordnet = model.wordnet

    def senses(word: str) -> set[int]:
        rows = {row for row, _ in wordnet.lookup(word)}
        rows.update(int(wordnet.class_rows[i]) for i in classes_by_name().get(word.lower(), ()))
        return rows

    def lineage(rows: set[int]) -> set[int]:
        return rows | {a for row in rows for a, _ in wordnet.ancestors(row)}

    right = hits = total_tags = unrelated = 0
    for i, label in enumerate(labels):
        word = queries.get(label, label)
        label_rows = senses(word)
        own = {int(c) for row in label_rows for c in wordnet.descendant_classes(row)}
        top_ids = library.top_ids[i]
        tags = [t for t, _ in photo_tags(top_ids, library.top_probs[i], library.semantic[i], model)]
        if int(top_ids[0]) in own:
            right += 1
            hits += any(senses(t) & lineage(label_rows) for t in tags[:first])
        top_rows = {int(wordnet.class_rows[int(c)]) for c in top_ids[:5]}
        for tag in tags:
            total_tags += 1
            tag_rows = senses(tag)
            related = tag_rows & lineage(top_rows) or any(top_rows & lineage({r}) for r in tag_rows)
            unrelated += not related
    return {
        "photos_with_right_top_class": right,
        "label_in_first": round(hits / max(right, 1), 4),
        "first": first,
        "tags": total_tags,
        "unrelated_tags": round(unrelated / max(total_tags, 1), 4),
    }


def match_check(
    library: LibraryArrays,
    labels: Sequence[str],
    queries: dict[str, str],
    model: SemanticModel | None = None,
) -> dict:
    """Precision and recall of the "good" matches of each label's query (query.GOOD_MATCH), summed
    over the labels: is the boundary between good and weak matches honest?"""

    model = model or default_model()
    labels_arr = np.asarray(labels)
    good = right = relevant = 0
    for label in sorted(set(labels_arr.tolist())):
        try:
            confidence = match_confidence(compile_query(queries.get(label, label), model), library)
        except UnknownQueryError:
            confidence = None
        chosen = np.zeros(len(labels_arr), bool) if confidence is None else confidence >= GOOD_MATCH
        wanted = labels_arr == label
        good += int(chosen.sum())
        right += int((chosen & wanted).sum())
        relevant += int(wanted.sum())
    return {
        "good_matches": good,
        "good_precision": round(right / max(good, 1), 4),
        "good_recall": round(right / max(relevant, 1), 4),
    }
