"""``photosearch similar IMAGE``: find photos that look like an image."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from photosearch.cli import common
from photosearch.cli.filters import filters_from

if TYPE_CHECKING:
    from photosearch.core.search.searcher import Result


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "similar", __doc__, run, "filters", "db", "json", "model")
    p.add_argument("image", metavar="IMAGE", help="any image file")
    p.add_argument("-k", type=int, default=20, help="number of results (default 20)")


def run(args: argparse.Namespace) -> int:
    from photosearch.core.search.searcher import Searcher

    with common.open_library(args) as library:
        if library.visual_model() is None:
            raise common.CommandError("the library is empty: photosearch index DIR")
        searcher = Searcher(library, lambda: common.load_encoder_from(args))
        results = searcher.similar_to_image(common.absolute(args.image), args.k, filters_from(args))
    print_results(results, args.json)
    return 0


def print_results(results: Sequence[Result], as_json: bool) -> None:
    if as_json:
        common.print_json([r.as_dict() for r in results])
        return
    if not results:
        print("no results")
    for r in results:
        print(f"{r.score:6.3f}  {r.path}")
