#!/usr/bin/env python3
"""Measure text->image and image->image retrieval of the text-search methods on a labelled folder.

    python tools/eval_text.py /work/shared/data/photos-dev \
        --queries resources/eval/photos-dev-queries.csv [--features CACHE.npz] [--json]

Encodes the photos with the default image encoder (or reads/writes ``--features``), then reports:

* per method, text->image P@10 and mAP over one query per label (an unreadable query counts 0),
  the number of readable queries, and image->image leave-one-out P@10 of its semantic vectors;
* the same for a fixed list of broader words (``animal``, ``vehicle``, ``fruit``...), a check on
  query words that are not labels;
* ``--projection-check``: DeViSE projections trained on half of the labels and tested on the
  other half (and the reverse), against ConSE on the same held-out labels.

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

from photosearch.core.text.embedder import top_k  # noqa: E402
from photosearch.core.text.evaluate import (  # noqa: E402
    METHODS,
    average_precision,
    evaluate_library,
    precision_at_k,
    read_labels,
    read_queries,
    text_to_image,
)
from photosearch.core.text.query import LibraryArrays, compile_query, text_scores  # noqa: E402
from photosearch.core.text.semantic import (  # noqa: E402
    SemanticConfig,
    SemanticModel,
    UnknownQueryError,
    default_model,
)
from photosearch.core.text.wordspace import normalize  # noqa: E402

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


def load_arrays(folder: Path, cache: Path | None) -> dict[str, np.ndarray]:
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    from photosearch.core.encoder import load_encoder

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
    from photosearch.core.text.projection import train_projection

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--queries", type=Path, help="CSV file,label,query (default: labels.csv)")
    parser.add_argument("--features", type=Path, help="cache of the encoder outputs (.npz)")
    parser.add_argument("--projection-check", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    arrays = load_arrays(args.folder, args.features)
    labels = np.asarray(arrays["labels"])
    _, _, queries = read_labels(args.folder)
    if args.queries:
        queries.update(read_queries(args.queries))
    ids, probs = top_k(arrays["P"])
    report = evaluate_library(arrays["F"], ids, probs, labels.tolist(), queries)
    for row in report["methods"]:
        name = row["method"]
        changes = METHODS[name]
        model = (
            SemanticModel(config=replace(SemanticConfig(), **changes))
            if changes
            else default_model()
        )
        library = LibraryArrays(model.conse(ids.astype(np.intp), probs), ids, probs, arrays["F"])
        row.update(generic_check(model, library, labels))
    if args.projection_check:
        report["projection_check"] = projection_check(arrays, queries, default_model())

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['photos']} photos, {report['labels']} labels")
    print(
        f"image->image P@10 (visual features, leave-one-out): {report['visual_image_p_at_10']:.3f}"
    )
    print(
        f"{'method':26s} {'text P@10':>9s} {'mAP':>6s} {'readable':>8s} "
        f"{'generic P@10':>12s} {'mAP':>6s} {'img->img (sem)':>14s}"
    )
    for row in report["methods"]:
        print(
            f"{row['method']:26s} {row['text_p_at_10']:9.3f} {row['text_map']:6.3f} "
            f"{row['readable_queries']:>4d}/{row['queries']:<3d} {row['generic_p_at_10']:12.3f} "
            f"{row['generic_map']:6.3f} {row['semantic_image_p_at_10']:14.3f}"
        )
    for row in report.get("projection_check", []):
        print(
            f"held-out labels: {row['method']:45s} P@10 {row['heldout_text_p_at_10']:.3f} "
            f"mAP {row['heldout_text_map']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
