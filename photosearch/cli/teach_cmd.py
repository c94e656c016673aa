"""``photosearch teach WORD PHOTO... [--not PHOTO...]``: teach a word from example photos.

Teach WORD from photos of the library that show it (and, with --not, photos that do not). The word
then works in searches (`photosearch search WORD`, `WORD + snow`) and tags, for the photos indexed
now and later. Teaching a word again adds to its examples. See `photosearch words`.
"""

from __future__ import annotations

import argparse

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "teach", __doc__, run, "db", "json")
    p.add_argument("word", metavar="WORD", help="the word (quote a phrase)")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of the library that show it")
    p.add_argument(
        "--not",
        dest="negatives",
        nargs="+",
        default=[],
        metavar="PHOTO",
        help="photos that do not show it",
    )
    p.add_argument("--replace", action="store_true", help="forget the word's earlier examples")


def run(args: argparse.Namespace) -> int:
    from photosearch.core.teach.words import TeachError, Words, normalise_word

    try:
        normalise_word(args.word)
    except TeachError as exc:
        raise common.CommandError(str(exc)) from exc
    with common.open_library(args) as library:
        words = Words(library)
        try:
            positives = words.photo_ids_for_paths(common.absolute(p) for p in args.photos)
            negatives = words.photo_ids_for_paths(common.absolute(p) for p in args.negatives)
            taught = words.teach(args.word, positives, negatives, replace=args.replace)
        except TeachError as exc:
            raise common.CommandError(str(exc)) from exc
    if args.json:
        common.print_json(taught.as_dict())
    else:
        nots = f", {taught.negatives} not" if taught.negatives else ""
        print(f"taught {taught.word!r} from {taught.positives} photos{nots}")
    return 0
