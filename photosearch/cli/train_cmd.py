"""``photosearch train DIR``: teach every label of a labelled folder.

Teach each label of DIR as a word, from its photos (label = sub-folder name, or labels.csv with
file,label[,query]; the query column, when there, is the word). The photos must be in the library:
photosearch index DIR first. With --out FILE, train the older DeViSE-style projection instead (a
linear map from the image model's vectors to the word space, used with --projection FILE).
"""

from __future__ import annotations

import argparse
import os
import sys

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "train", __doc__, run, "model", "db", "json")
    p.add_argument("folder", metavar="DIR")
    p.add_argument(
        "--out", metavar="FILE", default=None, help="train the DeViSE projection into FILE (.npz)"
    )
    p.add_argument(
        "--loss",
        choices=("rank", "cosine"),
        default="rank",
        help="projection only: ranking hinge (default) or cosine regression",
    )
    p.add_argument("--epochs", type=int, default=60, help="projection only")
    p.add_argument("--word-vectors", metavar="FILE", default=None, help="projection only")


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.folder):
        raise common.CommandError(f"not a folder: {args.folder}")
    if args.out:
        return _projection(args)
    return _teach_labels(args)


def _teach_labels(args: argparse.Namespace) -> int:
    from photosearch.core.evaluation.evaluate import read_labels
    from photosearch.core.teach.words import TeachError, Words

    paths, labels, queries = read_labels(args.folder)
    if not paths:
        raise common.CommandError(f"no labelled photos in {args.folder}")
    taught, skipped = [], 0
    with common.open_library(args) as library:
        words = Words(library)
        by_label: dict[str, list[int]] = {}
        for path, label in zip(paths, labels, strict=True):
            photo = library.photo_by_path(os.path.abspath(path))
            if photo is None or photo.status != "indexed":
                skipped += 1
                continue
            by_label.setdefault(label, []).append(photo.id)
        if not by_label:
            raise common.CommandError(
                f"none of the photos of {args.folder} is in the library: "
                f"photosearch index {args.folder} first"
            )
        for label, ids in sorted(by_label.items()):
            try:
                taught.append(words.teach(queries[label], ids).as_dict())
            except TeachError as exc:
                raise common.CommandError(f"label {label!r}: {exc}") from exc
    if args.json:
        common.print_json({"words": taught, "skipped_photos": skipped})
    else:
        for w in taught:
            print(f"taught {w['word']!r} from {w['positives']} photos")
        if skipped:
            print(f"{skipped} photos are not indexed in the library and were skipped")
    return 0


def _projection(args: argparse.Namespace) -> int:
    from photosearch.core.evaluation.training import train_from_folder
    from photosearch.core.text import ProjectionError, WordSpaceError, load_model

    try:
        model = load_model(args.word_vectors)
        result = train_from_folder(
            args.folder,
            args.out,
            encoder=common.load_encoder_from(args),
            model=model,
            loss=args.loss,
            epochs=args.epochs,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except (ProjectionError, WordSpaceError, FileNotFoundError) as exc:
        raise common.CommandError(str(exc)) from exc
    print(
        f"wrote {args.out} (final loss {result.losses[-1]:.4f}); use it with --projection {args.out}"
    )
    return 0
