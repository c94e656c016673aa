#!/usr/bin/env python3
"""Measure text search on labelled folders and over WordNet: one set alone cannot fool it.

    python tools/eval_text.py ../shared/data/photos-dev ../shared/data/photos-dev2 \
        --queries resources/eval/photos-dev-queries.csv [--features-dir CACHE] [--json]

Encodes each folder's photos with the default image encoder (or reads/writes
``--features-dir/<folder name>.npz``), then reports per folder:

* per method, text->image P@10 and mAP over one query per label (an unreadable query counts 0),
  the number of readable queries, and image->image leave-one-out P@10 of its semantic vectors;
* the same for a fixed list of broader words (``animal``, ``vehicle``, ``fruit``...), a check on
  query words that are not labels;
* tags: how often a photo's label (or a WordNet ancestor) is among its first 5 tags, and the
  share of tags with no WordNet relation to the photo's top classes;
* good matches: precision and recall of the results a query calls "good";
* ``--per-label``: per label, the default method's P@10 and AP, and where the classifier puts the
  label's photos: the share whose top class lies below the query word's senses (the word names
  it) or below its nearest relatives (the word can borrow from them), else the model is blind to
  them;
* ``--ablations``: text P@10 and mAP of the default method with one mechanism changed at a time
  (:data:`ABLATIONS`), on every folder together;
* ``--projection-check``: DeViSE projections trained on half of the labels and tested on the
  other half (and the reverse), against ConSE on the same held-out labels.

and once, the photo-free lexical check (photosearch/core/text/lexical_check.py): every lemma of every
synset with ImageNet classes below it, singular and plural, and every ImageNet class name.

Deterministic: the same photos and resources give the same figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photosearch.core.evaluation.evaluate import (  # noqa: E402
    METHODS,
    average_precision,
    evaluate_library,
    match_check,
    precision_at_k,
    read_labels,
    read_queries,
    tag_check,
    text_to_image,
)
from photosearch.core.text.embedder import top_k  # noqa: E402
from photosearch.core.text.lexical_check import lexical_check  # noqa: E402
from photosearch.core.text.query import LibraryArrays, compile_query, text_scores  # noqa: E402
from photosearch.core.text.semantic import (  # noqa: E402
    SemanticConfig,
    SemanticModel,
    UnknownQueryError,
    default_model,
)
from photosearch.core.text.wordspace import WordSpace, normalize  # noqa: E402

# Broader words a person might type, with the dev labels each should find. Written from everyday
# usage (not derived from WordNet); used only as a check, never to tune anything.
GENERIC_QUERIES = {
    "animal": "butterfly crab dog dolphin elephant flamingo kangaroo leopard llama panda rooster starfish",
    "mammal": "dog dolphin elephant kangaroo leopard llama panda",
    "bird": "flamingo rooster",
    "insect": "butterfly",
    "sea creature": "crab dolphin starfish",
    "vehicle": "airplane car ferry helicopter motorbike sailboat",
    "aircraft": "airplane helicopter",
    "boat": "ferry sailboat",
    "ship": "ferry",
    "musical instrument": "guitar piano",
    "fruit": "strawberry",
    "flower": "sunflower",
    "food": "pizza strawberry",
    "computer": "laptop",
    "furniture": "chair",
    "ball": "soccer_ball",
    "temple": "pagoda",
    "person": "face",
    "clock": "watch",
    "telephone": "cellphone",
    "automobile": "car",
    "puppy": "dog",
    "big cat": "leopard",
    "bicycle": "motorbike",
}


# One mechanism changed at a time (SemanticConfig fields), for ``--ablations``.
ABLATIONS: dict[str, dict] = {
    "default": {},
    "relatives by 0.5^levels x IC only (no Lin ranking)": {"nearest_relative": False},
    "no transfer to relatives": {"transfer": False},
    "no sense prior (imageability)": {"sense_prior": False},
    "no similarity class weights": {"sim_scale": 0.0},
    "similarity without CSLS": {"csls": False},
    "no part relation": {"part_weight": 0.0},
    "ConSE cosine weight 0": {"cosine_weight": 0.0},
    "ConSE cosine weight 0.25": {"cosine_weight": 0.25},
    "ConSE cosine weight 1": {"cosine_weight": 1.0},
}


def load_arrays(folder: Path, cache: Path | None) -> dict[str, np.ndarray]:
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    from photosearch.core.vision.loader import load_encoder

    paths, labels, _ = read_labels(folder)
    encoder = load_encoder()
    feats, probs = [], []
    start = time.time()
    for i in range(0, len(paths), 32):
        enc = encoder.encode_paths(paths[i : i + 32])
        feats.append(enc.features)
        probs.append(enc.probs)
    print(f"encoded {len(paths)} photos in {time.time() - start:.0f} s", file=sys.stderr)
    arrays = {
        "F": np.concatenate(feats),
        "P": np.concatenate(probs),
        "labels": np.array(labels),
        "W": encoder.classifier_weight,
    }
    if cache is not None:
        np.savez(cache, **arrays)
    return arrays


def generic_check(model: SemanticModel, library: LibraryArrays, labels: np.ndarray) -> dict:
    p_values, ap_values, readable = [], [], 0
    for query, wanted in GENERIC_QUERIES.items():
        relevant = np.isin(labels, wanted.split())
        try:
            scores = text_scores(compile_query(query, model), library)
        except UnknownQueryError:
            p_values.append(0.0)
            ap_values.append(0.0)
            continue
        readable += 1
        p_values.append(precision_at_k(scores, relevant))
        ap_values.append(average_precision(scores, relevant))
    return {
        "generic_p_at_10": round(float(np.mean(p_values)), 4),
        "generic_map": round(float(np.mean(ap_values)), 4),
        "generic_readable": readable,
        "generic_queries": len(GENERIC_QUERIES),
    }


def projection_check(arrays: dict, queries: dict[str, str], model: SemanticModel) -> list[dict]:
    from photosearch.core.evaluation.training import train_projection

    features, labels = arrays["F"], np.asarray(arrays["labels"])
    ids, probs = top_k(arrays["P"])
    names = sorted(set(labels.tolist()))
    results: dict[str, list[tuple[float, float]]] = {}

    def measure(name: str, semantic: np.ndarray, mask: np.ndarray, cosine_only: bool) -> None:
        lib = LibraryArrays(semantic, ids[mask], probs[mask], features[mask])

        def score(query: str) -> np.ndarray:
            compiled = compile_query(query, model)
            if cosine_only:
                return lib.semantic @ compiled.vector
            return text_scores(compiled, lib)

        r = text_to_image(name, score, labels[mask].tolist(), queries)
        results.setdefault(name, []).append((r.p_at_10, r.map))

    for fold in (0, 1):
        train_names = [n for i, n in enumerate(names) if i % 2 == fold]
        train = np.isin(labels, train_names)
        test = ~train
        conse = model.conse(ids[test].astype(np.intp), probs[test])
        measure("ConSE, cosine only", conse, test, True)
        measure("ConSE, full scorer", conse, test, False)
        for loss in ("cosine", "rank"):
            trained = train_projection(
                features[train],
                labels[train].tolist(),
                model,
                top_ids=ids[train],
                top_probs=probs[train],
                prototypes=arrays.get("W"),
                loss=loss,
                queries=queries,
            ).projection
            projected = trained.project(features[test])
            measure(f"projection ({loss}), cosine only", projected, test, True)
            measure(f"projection ({loss}), full scorer", projected, test, False)
            measure(
                f"projection ({loss}) + ConSE 50/50, full scorer",
                normalize(projected + conse),
                test,
                False,
            )
    return [
        {
            "method": name,
            "heldout_text_p_at_10": round(float(np.mean([p for p, _ in v])), 4),
            "heldout_text_map": round(float(np.mean([a for _, a in v])), 4),
        }
        for name, v in results.items()
    ]


def folder_inputs(
    folder: Path, queries_csv: Path | None, cache: Path | None
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, str]]:
    """A folder's encoder outputs, labels and the query of each label."""
    arrays = load_arrays(folder, cache)
    labels = np.asarray(arrays["labels"])
    _, _, queries = read_labels(folder)
    if queries_csv and queries_csv.is_file():
        queries.update(
            {k: v for k, v in read_queries(queries_csv).items() if k in set(labels.tolist())}
        )
    return arrays, labels, queries


def ablation_rows(
    inputs: list[tuple[str, dict[str, np.ndarray], np.ndarray, dict[str, str]]],
    base: SemanticModel | None = None,
) -> list[dict]:
    """Per ablation, text P@10 and mAP on each folder (one query per label, as above)."""
    base = base or default_model()
    rows = []
    for name, changes in ABLATIONS.items():
        config = replace(base.config, **changes)
        model = SemanticModel(base.space, base.wordnet, config) if changes else base
        row: dict = {"ablation": name, "changes": changes}
        for folder, arrays, labels, queries in inputs:
            ids, probs = top_k(arrays["P"])
            library = LibraryArrays(model.conse(ids.astype(np.intp), probs), ids, probs)

            def score(query: str, m: SemanticModel = model, lib: LibraryArrays = library):  # type: ignore[no-untyped-def]
                return text_scores(compile_query(query, m), lib)

            result = text_to_image(name, score, labels.tolist(), queries)
            row[folder] = {
                "text_p_at_10": round(result.p_at_10, 4),
                "text_map": round(result.map, 4),
            }
        rows.append(row)
    return rows


def label_rows(
    arrays: dict[str, np.ndarray], labels: np.ndarray, queries: dict[str, str], model: SemanticModel
) -> list[dict]:
    """Per label: the default method's P@10 and AP, and the share of its photos whose top class
    lies below the query's senses ("named") or below their nearest relatives ("relative")."""
    ids, probs = top_k(arrays["P"])
    library = LibraryArrays(model.conse(ids.astype(np.intp), probs), ids, probs)
    result = text_to_image(
        "default",
        lambda q: text_scores(compile_query(q, model), library),
        labels.tolist(),
        queries,
    )
    wordnet, relatedness = model.wordnet, model.relatedness
    rows = []
    for label in sorted(set(labels.tolist())):
        query = queries.get(label, label)
        senses = [row for unit, _ in model.units(query) for row, _ in wordnet.lookup(unit)]
        named = {int(c) for row in senses for c in wordnet.descendant_classes(row)}
        relatives = {
            int(c)
            for row in senses
            if not len(wordnet.descendant_classes(row))
            for a in relatedness._nearest_class_ancestors(row)
            for c in wordnet.descendant_classes(a)
        }
        top = ids[labels == label][:, 0].tolist()
        p_at_10, ap = result.per_query[query]
        rows.append(
            {
                "label": label,
                "query": query,
                "p_at_10": round(p_at_10, 4),
                "ap": round(ap, 4),
                "top_class_named": round(float(np.mean([t in named for t in top])), 4),
                "top_class_relative": round(float(np.mean([t in relatives for t in top])), 4),
            }
        )
    return rows


def print_labels(folder: str, rows: list[dict]) -> None:
    print(f"\n{folder} per label: P@10, AP, share of its photos whose top class the word names / ")
    print("its nearest relatives hold")
    for r in rows:
        print(
            f"  {r['query']:16s} {r['p_at_10']:4.1f} {r['ap']:6.3f}   "
            f"{r['top_class_named']:4.2f} / {r['top_class_relative']:4.2f}"
        )


def print_ablations(rows: list[dict]) -> None:
    folders = [k for k in rows[0] if k not in ("ablation", "changes")]
    print("\nablations (text P@10 / mAP): " + " | ".join(folders))
    for row in rows:
        cells = "  ".join(
            f"{row[f]['text_p_at_10']:.3f} / {row[f]['text_map']:.3f}" for f in folders
        )
        print(f"{row['ablation']:52s} {cells}")


def evaluate_folder(
    folder: Path,
    queries_csv: Path | None,
    cache: Path | None,
    projection: bool,
    base: SemanticModel | None = None,
) -> dict:
    """Every figure of one labelled folder (see the module docstring)."""
    arrays, labels, queries = folder_inputs(folder, queries_csv, cache)
    ids, probs = top_k(arrays["P"])
    base = base or default_model()
    report = evaluate_library(arrays["F"], ids, probs, labels.tolist(), queries, model=base)
    report["folder"] = folder.name
    generic = set(" ".join(GENERIC_QUERIES.values()).split()) <= set(labels.tolist())
    for row in report["methods"]:
        name = row["method"]
        changes = METHODS[name]
        model = (
            SemanticModel(base.space, base.wordnet, replace(SemanticConfig(), **changes))
            if changes
            else base
        )
        library = LibraryArrays(model.conse(ids.astype(np.intp), probs), ids, probs, arrays["F"])
        if generic:  # the broader words are written for photos-dev's labels
            row.update(generic_check(model, library, labels))
    semantic = base.conse(ids.astype(np.intp), probs)
    described = LibraryArrays(semantic, ids, probs)
    report["tags"] = tag_check(described, labels.tolist(), queries, base)
    report["matches"] = match_check(described, labels.tolist(), queries, base)
    if projection:
        report["projection_check"] = projection_check(arrays, queries, base)
    return report


def print_folder(report: dict) -> None:
    print(f"\n{report['folder']}: {report['photos']} photos, {report['labels']} labels")
    print(
        f"image->image P@10 (visual features, leave-one-out): {report['visual_image_p_at_10']:.3f}"
    )
    print(
        f"{'method':26s} {'text P@10':>9s} {'mAP':>6s} {'readable':>8s} "
        f"{'generic P@10':>12s} {'mAP':>6s} {'img->img (sem)':>14s}"
    )
    for row in report["methods"]:
        generic = (
            f"{row['generic_p_at_10']:12.3f} {row['generic_map']:6.3f}"
            if "generic_p_at_10" in row
            else f"{'-':>12s} {'-':>6s}"
        )
        print(
            f"{row['method']:26s} {row['text_p_at_10']:9.3f} {row['text_map']:6.3f} "
            f"{row['readable_queries']:>4d}/{row['queries']:<3d} {generic} "
            f"{row['semantic_image_p_at_10']:14.3f}"
        )
    tags, matches = report["tags"], report["matches"]
    print(
        f"tags: label or its ancestor in the first {tags['first']}: {tags['label_in_first']:.3f} "
        f"(of {tags['photos_with_right_top_class']} photos whose top class is right); "
        f"tags unrelated to the photo's top classes: {tags['unrelated_tags']:.3f} of {tags['tags']}"
    )
    print(
        f"good matches: {matches['good_matches']}, precision {matches['good_precision']:.3f}, "
        f"recall {matches['good_recall']:.3f}"
    )
    for row in report.get("projection_check", []):
        print(
            f"held-out labels: {row['method']:45s} P@10 {row['heldout_text_p_at_10']:.3f} "
            f"mAP {row['heldout_text_map']:.3f}"
        )


def print_lexical(lexical: dict) -> None:
    print(
        f"\nlexical check over WordNet: {lexical['words']} words (singular and plural); mean share "
        f"of class weight on their own classes {lexical['mean_share']:.3f}; top class their own "
        f"{lexical['top_hit_rate']:.3f}; plural agrees with singular "
        f"{lexical['plural_agreement']:.3f}; ImageNet class names first: "
        f"{lexical['class_names_first']}/{lexical['class_names']}"
    )
    if lexical["class_name_failures"]:
        print("class names not first: " + ", ".join(lexical["class_name_failures"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", metavar="FOLDER")
    parser.add_argument(
        "--queries", type=Path, help="CSV file,label,query overriding labels.csv's queries"
    )
    parser.add_argument(
        "--features-dir", type=Path, help="cache of the encoder outputs, one .npz per folder"
    )
    parser.add_argument("--projection-check", action="store_true")
    parser.add_argument(
        "--ablations", action="store_true", help="also one mechanism changed at a time"
    )
    parser.add_argument("--per-label", action="store_true", help="also per-label figures")
    parser.add_argument(
        "--word-vectors", type=Path, help="another word space (any format --word-vectors reads)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base = SemanticModel(space=WordSpace.load(args.word_vectors)) if args.word_vectors else None

    if args.features_dir:
        args.features_dir.mkdir(parents=True, exist_ok=True)
    reports = [
        evaluate_folder(
            folder,
            args.queries,
            args.features_dir / f"{folder.name}.npz" if args.features_dir else None,
            args.projection_check,
            base,
        )
        for folder in args.folders
    ]
    lexical = lexical_check(base).as_dict()
    inputs = [
        (
            folder.name,
            *folder_inputs(
                folder,
                args.queries,
                args.features_dir / f"{folder.name}.npz" if args.features_dir else None,
            ),
        )
        for folder in args.folders
    ]
    ablations = ablation_rows(inputs, base) if args.ablations else None
    per_label = (
        {name: label_rows(a, lab, q, base or default_model()) for name, a, lab, q in inputs}
        if args.per_label
        else None
    )
    if args.json:
        output = {"folders": reports, "lexical": lexical}
        if ablations is not None:
            output["ablations"] = ablations
        if per_label is not None:
            output["per_label"] = per_label
        print(json.dumps(output, indent=2))
        return 0
    for report in reports:
        print_folder(report)
    print_lexical(lexical)
    for name, rows in (per_label or {}).items():
        print_labels(name, rows)
    if ablations is not None:
        print_ablations(ablations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
