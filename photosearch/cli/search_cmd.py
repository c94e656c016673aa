"""``photosearch search QUERY``: find photos by words.

Find photos that match words, although nobody labelled them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from photosearch.cli import common
from photosearch.cli.filters import filters_from
from photosearch.cli.similar_cmd import print_results

if TYPE_CHECKING:
    from photosearch.core.search.searcher import Result

QUERY_HELP = """query language:
  beach at sunset      words and phrases
  dog + snow           + combines terms
  boat -sail           -term pushes photos with it away
  2:sunset             a weight scales a term
  --image PATH "snow"  like this photo, with snow"""


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(
        sub,
        "search",
        __doc__,
        run,
        "filters",
        "db",
        "json",
        "model",
        "text",
        epilog=QUERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="*", metavar="QUERY", help="words in the query language")
    p.add_argument("-k", type=int, default=20, help="number of results (default 20)")
    p.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="an example image as a query term",
    )


def run(args: argparse.Namespace) -> int:
    from photosearch.core.search.searcher import Searcher
    from photosearch.core.search.text_search import TextSearcher
    from photosearch.core.text import QuerySyntaxError, UnknownQueryError

    text = " ".join(args.query).strip()
    if not text and not args.image:
        raise common.CommandError('give a query, e.g. photosearch search "dog on a beach"')
    from photosearch.cli.index_cmd import semantic_embedder_from

    with common.open_library(args) as library:
        if library.visual_model() is None:
            raise common.CommandError("the library is empty: photosearch index DIR")
        searcher = Searcher(library, lambda: common.load_encoder_from(args))
        if not text:
            results = searcher.similar_to_image(
                common.absolute(args.image[0]), args.k, filters_from(args)
            )
            print_results(results, args.json)
            return 0
        texts = TextSearcher(searcher, semantic_embedder_from(args, library))
        try:
            outcome = texts.search(
                text, [common.absolute(p) for p in args.image], args.k, filters_from(args)
            )
        except (UnknownQueryError, QuerySyntaxError) as exc:
            raise common.CommandError(str(exc)) from exc
    for note in outcome.notes:
        print(f"photosearch: {note}", file=sys.stderr)
    if args.json or outcome.good is None:
        print_results(outcome.results, args.json)
    else:
        print_with_boundary(outcome.results, outcome.good)
    return 0


def print_with_boundary(results: Sequence[Result], good: int) -> None:
    """Plain results of a text query: the good matches, then a line before the weaker ones."""
    print(f"{good} good {'match' if good == 1 else 'matches'}")
    weak = False
    for r in results:
        if r.match == "weak" and not weak:
            weak = True
            print("-- weaker matches --")
        print(f"{r.score:6.3f}  {r.path}")
