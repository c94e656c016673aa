"""Date and camera filter options shared by ``search`` and ``similar``."""

from __future__ import annotations

import argparse
import datetime as dt

from photosearch.core.search.searcher import Filters


def parse_date(text: str) -> float:
    """YYYY, YYYY-MM or YYYY-MM-DD -> POSIX seconds (capture times are stored as naive UTC)."""
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.timezone.utc).timestamp()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a date (use YYYY-MM-DD): {text}")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--after", type=parse_date, metavar="DATE", help="taken on or after DATE")
    parser.add_argument("--before", type=parse_date, metavar="DATE", help="taken before DATE")
    parser.add_argument("--camera", metavar="NAME", help="camera make/model contains NAME")


def filters_from(args: argparse.Namespace) -> Filters | None:
    f = Filters(args.after, args.before, args.camera)
    return f if f.active() else None
