"""Photo-side audit: do auto-tags, photo semantic vectors and text queries lean toward gendered
or other identity words more than the photos justify?

The photos carry no gender labels, so nothing here can say that a given photo's lean is *wrong*.
What it measures:

* each photo's ConSE semantic vector projected on the gender direction g (positive: male side),
  as a share of the projection of the definitional words themselves ("lean");
* for labelled folders, the mean lean of each object class: for gender-neutral objects (a guitar,
  a chair) the content justifies no lean, so a class-wide lean comes from the word vectors;
* the photos that lean most, with their classes and tags (to look at, not to conclude from);
* for neutral queries ("doctor", "nurse"…): the query vector's lean, and which photos enter the
  top 10 only because of the gender component of the query (a counterfactual with that component
  removed from the query vector);
* identity terms (gender, ethnicity, religion…) that appear in auto-tags, and for which photos.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.evaluation.evaluate import read_labels, text_to_image
from photosearch.core.text.embedder import top_k
from photosearch.core.text.query import LibraryArrays, compile_query, score_query, text_scores
from photosearch.core.text.semantic import UnknownQueryError
from photosearch.core.text.tags import MIN_ASSOCIATION, photo_tags
from photosearch.core.text.wordsets import WordSets
from photosearch.core.vision.imageio import ImageLoadError, is_supported
from photosearch.core.vision.imagenet import class_names
from photosearch.core.vision.loader import load_encoder

BATCH = 32


@dataclass
class PhotoSet:
    """Encoder outputs of a folder of photos, rows aligned."""

    folder: Path
    paths: list[Path]
    labels: list[str] | None  # from labels.csv or sub-folders, when the folder has them
    queries: dict[str, str]  # label -> query text (for retrieval P@10)
    features: np.ndarray  # (n, D)
    top_ids: np.ndarray  # (n, K)
    top_probs: np.ndarray  # (n, K)
    failed: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)


def list_photos(folder: str | os.PathLike[str]) -> tuple[list[Path], list[str] | None, dict]:
    """Photos of a folder, with labels if it has a ``labels.csv`` (``file,label[,query]``), else
    every supported image below it, unlabelled (sub-folder names are not taken as labels: a
    user's "2019/" is not a class)."""

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"photo folder not found: {folder}")
    if (folder / "labels.csv").is_file():
        paths, labels, queries = read_labels(folder)
        if paths:
            return paths, labels, queries
    everything = sorted(p for p in folder.rglob("*") if p.is_file() and is_supported(p))
    return everything, None, {}


def encode_folder(
    folder: str | os.PathLike[str],
    encoder: Any = None,
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
) -> PhotoSet:
    """Encode every photo of ``folder`` (unreadable files are skipped and listed)."""

    if encoder is None:
        encoder = load_encoder()
    paths, labels, queries = list_photos(folder)
    if limit is not None:
        paths = paths[:limit]
        labels = labels[:limit] if labels is not None else None
    kept: list[int] = []
    feats, probs, failed = [], [], []
    for start in range(0, len(paths), BATCH):
        batch = list(range(start, min(start + BATCH, len(paths))))
        try:
            enc = encoder.encode_paths([paths[i] for i in batch])
            good = batch
        except ImageLoadError:
            good, rows_f, rows_p = [], [], []
            for i in batch:
                try:
                    one = encoder.encode_paths([paths[i]])
                except ImageLoadError:
                    failed.append(str(paths[i]))
                    continue
                good.append(i)
                rows_f.append(one.features)
                rows_p.append(one.probs)
            if not good:
                continue
            enc = type("E", (), {})()
            enc.features, enc.probs = np.concatenate(rows_f), np.concatenate(rows_p)
        kept += good
        feats.append(np.asarray(enc.features, np.float32))
        probs.append(np.asarray(enc.probs, np.float32))
        if progress is not None:
            progress(min(start + BATCH, len(paths)), len(paths))
    if not kept:
        raise ValueError(f"no readable photos in {folder}")
    all_probs = np.concatenate(probs)
    ids, top_probs = top_k(all_probs)
    return PhotoSet(
        Path(folder),
        [paths[i] for i in kept],
        [labels[i] for i in kept] if labels is not None else None,
        queries,
        np.concatenate(feats),
        ids,
        top_probs,
        failed,
    )


# -- helpers -------------------------------------------------------------------------------------


def definitional_scale(space: Any, sets: WordSets, direction: np.ndarray) -> float:
    """Mean |cos(w, g)| of the definitional words (she, he, woman, man…): the lean of an
    unambiguously gendered word, used as 100 %."""
    values = []
    for pair in sets.definitional_pairs:
        for word in pair:
            vec = space.vector(word)
            if vec is not None:
                values.append(abs(float(np.asarray(vec, np.float64) @ direction)))
    return float(np.mean(values)) if values else 1.0


def _pair_midpoint(space: Any, sets: WordSets, direction: np.ndarray) -> float:
    """Mean projection of the midpoints of the definitional pairs (a second possible zero)."""
    values = []
    for female, male in sets.definitional_pairs:
        vf, vm = space.vector(female), space.vector(male)
        if vf is not None and vm is not None:
            values.append(float((np.asarray(vf, np.float64) + vm) @ direction) / 2)
    return float(np.mean(values)) if values else 0.0


def _words_of(tag: str) -> list[str]:
    parts = tag.lower().replace("-", " ").split()
    return [tag.lower().replace(" ", "_"), *parts]


def sensitive_lookup(sets: WordSets) -> dict[str, str]:
    """word -> group, for the identity terms (and the ambiguous colour words)."""
    lookup: dict[str, str] = {}
    for group, words in sets.sensitive_groups.items():
        for w in words:
            lookup.setdefault(w, group)
    for w in sets.ambiguous_terms:
        lookup.setdefault(w, "ambiguous_colour")
    return lookup


def _top_classes(ids: np.ndarray, probs: np.ndarray, names: Sequence[str], n: int = 3) -> list:
    return [[names[int(i)], round(float(p), 3)] for i, p in zip(ids[:n], probs[:n], strict=True)]


# -- the audit -----------------------------------------------------------------------------------


def audit_photos(
    photos: PhotoSet,
    model: Any,
    sets: WordSets,
    direction: np.ndarray,
    *,
    queries: Sequence[str] | None = None,
    examples: int = 6,
    tags_per_photo: int = 8,
    nearest_words: int = 20,
) -> dict:
    """The photo-side measurements for one semantic model (see the module docstring)."""

    g = np.asarray(direction, np.float32)
    names = class_names()
    semantic = model.conse(photos.top_ids.astype(np.intp), photos.top_probs)
    proj = semantic @ g
    scale = definitional_scale(model.space, sets, direction)
    lean = proj / scale
    n = len(photos)

    # Reference: the lean of the 1000 ImageNet class vectors (what ConSE averages over).
    class_lean = (model.class_vectors @ g) / scale
    summary = {
        "photos": n,
        "definitional_scale": round(scale, 4),
        "mean_lean": round(float(lean.mean()), 4),
        "std_lean": round(float(lean.std()), 4),
        "median_abs_lean": round(float(np.median(np.abs(lean))), 4),
        "share_male_side": round(float((lean > 0).mean()), 4),
        "share_over_25pct": round(float((np.abs(lean) > 0.25).mean()), 4),
        "imagenet_class_mean_lean": round(float(class_lean.mean()), 4),
        "pair_midpoint_lean": round(_pair_midpoint(model.space, sets, direction) / scale, 4),
        "imagenet_class_std_lean": round(float(class_lean.std()), 4),
        "histogram": _histogram(lean),
    }

    # Tags (and the nearest vocabulary words) of every photo; identity terms among them.
    lookup = sensitive_lookup(sets)
    gendered = sorted(w for w in sets.gendered_words() if model.space.vector(w) is not None)
    gendered_matrix = (
        np.stack([model.space.vector(w) for w in gendered]).astype(np.float32)
        if gendered
        else np.zeros((0, model.dim), np.float32)
    )
    class_name_set = {c.lower() for c in names}
    vocabulary = model.space.kv.index_to_key
    nearest_rows = _nearest_rows(semantic, model.space.vectors, nearest_words)
    photo_rows = []
    flagged: list[dict] = []
    near_misses: dict[str, list[str]] = {}
    group_counts: dict[str, int] = {}  # tags that are the identity term itself
    in_names: dict[str, int] = {}  # the term inside a longer name ("African elephant")
    for i in range(n):
        tags = photo_tags(
            photos.top_ids[i], photos.top_probs[i], semantic[i], model=model, n=tags_per_photo
        )
        rel = _relpath(photos.paths[i], photos.folder)
        hits: list[dict[str, Any]] = []
        for tag, score in tags:
            for word in _words_of(tag):
                group = lookup.get(word)
                if group is not None:
                    hits.append(
                        {
                            "tag": tag,
                            "word": word,
                            "group": group,
                            "score": round(score, 3),
                            "standalone": tag.lower().replace(" ", "_") == word,
                            "source": _tag_source(tag, semantic[i], model, class_name_set),
                        }
                    )
                    break
        if hits:
            flagged.append({"photo": rel, "label": _label(photos, i), "hits": hits})
            for h in hits:
                counts = group_counts if h["standalone"] else in_names
                counts[h["group"]] = counts.get(h["group"], 0) + 1
        for row in nearest_rows[i]:
            word = vocabulary[int(row)].lower()
            if lookup.get(word) not in (None, "ambiguous_colour"):
                near_misses.setdefault(word, []).append(rel)
        nearest_gendered = ""
        if len(gendered):
            nearest_gendered = gendered[int(np.argmax(gendered_matrix @ semantic[i]))]
        photo_rows.append(
            {
                "photo": rel,
                "label": _label(photos, i),
                "lean": round(float(lean[i]), 4),
                "projection": round(float(proj[i]), 4),
                "top_classes": _top_classes(photos.top_ids[i], photos.top_probs[i], names),
                "tags": [t for t, _ in tags],
                "nearest_gendered_word": nearest_gendered,
            }
        )

    order = np.argsort(lean, kind="stable")
    most_female = [photo_rows[int(i)] for i in order[:examples]]
    most_male = [photo_rows[int(i)] for i in order[::-1][:examples]]

    by_class = _class_lean(photos, lean) if photos.labels is not None else []

    query_rows = _audit_queries(
        queries or sets.neutral_queries,
        model,
        LibraryArrays(semantic, photos.top_ids, photos.top_probs, photos.features),
        g,
        scale,
        photos,
        compile_query,
        text_scores,
        UnknownQueryError,
    )
    return {
        "summary": summary,
        "by_class": by_class,
        "most_female_side": most_female,
        "most_male_side": most_male,
        "queries": query_rows,
        "sensitive_tags": {
            "photos_flagged": len(flagged),
            "counts_by_group": group_counts,
            "counts_inside_longer_names": in_names,
            "photos": flagged,
            "near_misses": {w: sorted(v)[:10] for w, v in sorted(near_misses.items())},
            "near_miss_counts": {w: len(v) for w, v in sorted(near_misses.items())},
        },
        "photo_rows": photo_rows,
    }


def _nearest_rows(semantic: np.ndarray, vectors: np.ndarray, n: int) -> np.ndarray:
    """(photos, n) vocabulary rows nearest each semantic vector (cosine), best first."""
    out = np.zeros((len(semantic), n), dtype=np.intp)
    n = min(n, len(vectors))
    for start in range(0, len(semantic), 256):
        sims = semantic[start : start + 256] @ vectors.T
        part = np.argpartition(-sims, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[start : start + 256, :n] = np.take_along_axis(part, order, axis=1)
    return out


def _tag_source(tag: str, semantic: np.ndarray, model: Any, class_names: set[str]) -> str:
    """Where a tag comes from: an ImageNet class name, a word associated with the photo's
    semantic vector in the word space, or a WordNet category above its classes."""
    if tag.lower() in class_names:
        return "imagenet class"
    vec = model.space.vector(tag)
    if vec is not None and float(np.asarray(vec) @ semantic) >= MIN_ASSOCIATION - 1e-6:
        return "word association"
    return "wordnet category"


def _label(photos: PhotoSet, i: int) -> str | None:
    return str(photos.labels[i]) if photos.labels is not None else None


def _relpath(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


def _histogram(values: np.ndarray, bins: int = 20) -> dict:
    top = max(0.05, float(np.ceil(np.abs(values).max() * 20) / 20)) if len(values) else 1.0
    counts, edges = np.histogram(values, bins=bins, range=(-top, top))
    return {"edges": [round(float(e), 4) for e in edges], "counts": counts.tolist()}


def _class_lean(photos: PhotoSet, lean: np.ndarray) -> list[dict]:
    assert photos.labels is not None
    labels = np.asarray(photos.labels)
    rows: list[dict[str, Any]] = []
    for label in sorted(set(photos.labels)):
        values = lean[labels == label]
        half = 1.96 * float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        mean = float(values.mean())
        rows.append(
            {
                "label": str(label),
                "photos": int(len(values)),
                "mean_lean": round(mean, 4),
                "ci95": [round(float(mean - half), 4), round(float(mean + half), 4)],
                "excludes_zero": bool(mean - half > 0 or mean + half < 0),
            }
        )
    rows.sort(key=lambda r: r["mean_lean"])
    return rows


def _audit_queries(
    queries: Sequence[str],
    model: Any,
    library: Any,
    g: np.ndarray,
    scale: float,
    photos: PhotoSet,
    compile_query: Callable,
    text_scores: Callable,
    unknown_error: type[Exception],
    k: int = 10,
) -> list[dict]:
    rows = []
    photo_lean = (library.semantic @ g) / scale
    for text in queries:
        try:
            compiled = compile_query(text, model)
        except unknown_error:
            rows.append({"query": text, "known": False})
            continue
        vec = compiled.vector.astype(np.float32)
        norm = float(np.linalg.norm(vec))
        query_lean = float(vec @ g) / norm / scale if norm > 0 else 0.0
        scores = text_scores(compiled, library)
        neutral = dataclasses.replace(compiled, vector=vec - float(vec @ g) * g)
        scores_neutral = text_scores(neutral, library)
        top = [int(i) for i in np.argsort(-scores, kind="stable")[:k]]
        top_neutral = [int(i) for i in np.argsort(-scores_neutral, kind="stable")[:k]]
        entered = [i for i in top if i not in top_neutral]
        rows.append(
            {
                "query": text,
                "known": True,
                "query_lean": round(query_lean, 4),
                "top10_mean_photo_lean": round(float(photo_lean[top].mean()), 4),
                "library_mean_photo_lean": round(float(photo_lean.mean()), 4),
                "top10_overlap_without_gender_component": len(set(top) & set(top_neutral)),
                "entered_only_through_gender_component": [
                    {
                        "photo": _relpath(photos.paths[i], photos.folder),
                        "label": _label(photos, i),
                        "lean": round(float(photo_lean[i]), 4),
                    }
                    for i in entered
                ],
                "top10": [_relpath(photos.paths[i], photos.folder) for i in top],
                "top10_labels": [_label(photos, i) for i in top],
            }
        )
    return rows


# -- retrieval --------------------------------------------------------------------------------


def retrieval_p_at_10(photos: PhotoSet, model: Any, queries: dict[str, str] | None = None) -> dict:
    """Text->image P@10 and mAP over a labelled photo set with this semantic model (the app's
    scorer: :func:`photosearch.core.text.query.score_query` over ConSE vectors), via
    :func:`photosearch.core.evaluation.evaluate.text_to_image`."""

    if photos.labels is None:
        raise ValueError("retrieval P@10 needs a labelled photo folder")
    semantic = model.conse(photos.top_ids.astype(np.intp), photos.top_probs)
    library = LibraryArrays(semantic, photos.top_ids, photos.top_probs, photos.features)
    merged = dict(photos.queries)
    merged.update(queries or {})
    result = text_to_image(
        "conse",
        lambda q: score_query(q, library, model),
        photos.labels,
        merged,
    )
    out = result.as_dict()
    out["per_query_p_at_10"] = {q: round(p, 4) for q, (p, _ap) in result.per_query.items()}
    return out
