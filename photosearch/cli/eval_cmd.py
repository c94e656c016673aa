"""``photosearch eval DIR``: P@10 and mAP of every method on a labelled folder.

Indexes DIR into a temporary database and reports image→image P@10 (leave-one-out), and per text
method text→image P@10, mAP and readable queries. Labels: sub-folder names, or labels.csv with
file,label[,query] (query defaults to the label).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from photosearch.cli import common
from photosearch.cli.progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "eval", __doc__, run, "json", "model", "text")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--queries", metavar="CSV", help="file,label,query rows overriding the queries")
    p.add_argument(
        "--lexical",
        action="store_true",
        help="also run the photo-free check of every WordNet word with photo classes below it",
    )


def run(args: argparse.Namespace) -> int:
    from photosearch.core.evaluation.evaluate import (
        evaluate_library,
        match_check,
        read_labels,
        read_queries,
        tag_check,
    )
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library
    from photosearch.core.library.vector_index import VectorIndex
    from photosearch.core.text import build_embedder
    from photosearch.core.text.query import LibraryArrays

    if not os.path.isdir(args.folder):
        raise common.CommandError(f"not a folder: {args.folder}")
    paths, labels, queries = read_labels(args.folder)
    if not paths:
        raise common.CommandError(f"no labelled photos in {args.folder}")
    if args.queries:
        queries.update(read_queries(args.queries))
    label_of = {os.path.abspath(p): label for p, label in zip(paths, labels)}
    embedder = build_embedder(args.word_vectors, args.projection, debias=bool(args.debias))
    with (
        tempfile.TemporaryDirectory(prefix="photosearch-eval-") as tmp,
        Library(os.path.join(tmp, "eval.db")) as library,
    ):
        library.add_folder(args.folder)
        Indexer(library, common.load_encoder_from(args), embedder).run(
            on_progress=ProgressBar().update
        )
        snap = VectorIndex(library).snapshot()
        photos = library.photos(snap.ids.tolist())
        rows = [i for i, pid in enumerate(snap.ids) if photos[int(pid)].path in label_of]
        if not rows:
            raise common.CommandError("none of the labelled photos could be indexed")
        keep = np.asarray(rows)
        kept_labels = [label_of[photos[int(snap.ids[i])].path] for i in rows]
        ids, probs = snap.top_ids[keep], snap.top_probs[keep]
        semantic = snap.semantic[keep] if snap.semantic is not None else None
        report = evaluate_library(
            snap.visual[keep], ids, probs, kept_labels, queries, semantic, model=embedder.model
        )
        if semantic is not None:
            arrays = LibraryArrays(np.asarray(semantic, np.float32), ids, probs)
            report["tags"] = tag_check(arrays, kept_labels, queries, embedder.model)
            report["matches"] = match_check(arrays, kept_labels, queries, embedder.model)
    if args.lexical:
        from photosearch.core.text.lexical_check import lexical_check

        report["lexical"] = lexical_check(embedder.model).as_dict()
    report["unindexed"] = len(paths) - len(rows)
    if args.json:
        common.print_json(report)
        return 0
    print(
        f"{report['photos']} photos, {report['labels']} labels ({report['unindexed']} not indexed)"
    )
    print(f"image→image P@10 (visual): {report['visual_image_p_at_10']:.3f}")
    print(f"{'method':28s} {'text P@10':>9s} {'mAP':>6s} {'readable':>9s} {'img P@10':>9s}")
    for m in report["methods"]:
        print(
            f"{m['method']:28s} {m['text_p_at_10']:9.3f} {m['text_map']:6.3f} "
            f"{m['readable_queries']:>4d}/{m['queries']:<4d} {m['semantic_image_p_at_10']:9.3f}",
            file=sys.stdout,
        )
    if "tags" in report:
        tags, matches = report["tags"], report["matches"]
        print(
            f"tags: label or its ancestor among the first {tags['first']}: "
            f"{tags['label_in_first']:.3f}; unrelated to the photo's classes: "
            f"{tags['unrelated_tags']:.3f}"
        )
        print(
            f"good matches: {matches['good_matches']}, precision {matches['good_precision']:.3f},"
            f" recall {matches['good_recall']:.3f}"
        )
    if "lexical" in report:
        lex = report["lexical"]
        print(
            f"lexical check: {lex['words']} words, share on own classes {lex['mean_share']:.3f}, "
            f"top class own {lex['top_hit_rate']:.3f}, class names first "
            f"{lex['class_names_first']}/{lex['class_names']}"
        )
    return 0
