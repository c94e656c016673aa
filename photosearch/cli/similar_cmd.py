"""``photosearch similar IMAGE``: photos that look like an image (in the library or not)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from photosearch.cli.common import (
    CommandError,
    absolute,
    db_options,
    json_options,
    load_encoder_from,
    model_options,
    open_library,
    print_json,
)
from photosearch.cli.filters import filter_options, filters_from

if TYPE_CHECKING:
    from photosearch.core.search.searcher import Result


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "similar",
        help="find photos that look like an image",
        parents=[filter_options(), db_options(), json_options(), model_options()],
    )
    p.add_argument("image", metavar="IMAGE", help="any image file")
    p.add_argument("-k", type=int, default=20, help="number of results (default 20)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photosearch.core.search.searcher import Searcher

    with open_library(args) as library:
        if library.visual_model() is None:
            raise CommandError("the library is empty: photosearch index DIR")
        searcher = Searcher(library, lambda: load_encoder_from(args))
        results = searcher.similar_to_image(absolute(args.image), args.k, filters_from(args))
    print_results(results, args.json)
    return 0


def print_results(results: Sequence[Result], as_json: bool) -> None:
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    if not results:
        print("no results")
    for r in results:
        print(f"{r.score:6.3f}  {r.path}")
