"""``photosearch tags IMAGE...``: words that describe a photo."""

from __future__ import annotations

import argparse
from typing import Any

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "tags", __doc__, run, "db", "json", "model", "text")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files, in the library or not")
    p.add_argument("-n", type=int, default=8, help="tags per photo (default 8)")


def run(args: argparse.Namespace) -> int:
    from photosearch.cli.index_cmd import semantic_embedder_from
    from photosearch.core.search.searcher import Searcher
    from photosearch.core.search.text_search import TextSearcher

    out: list[dict[str, Any]] = []
    with common.open_library(args) as library:
        texts = TextSearcher(
            Searcher(library, lambda: common.load_encoder_from(args)),
            semantic_embedder_from(args, library),
        )
        for image in args.images:
            tags = texts.tags_for_image(common.absolute(image), args.n)
            out.append(
                {
                    "path": common.absolute(image),
                    "tags": [{"tag": t, "score": round(float(s), 4)} for t, s in tags],
                }
            )
    if args.json:
        common.print_json(out)
    else:
        for item in out:
            print(f"{item['path']}: " + ", ".join(t["tag"] for t in item["tags"]))
    return 0
