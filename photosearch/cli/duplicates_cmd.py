"""``photosearch duplicates``: list groups of exact and near-duplicate photos.

List groups of exact copies (same bytes) and near-duplicates (resized, re-encoded, cropped or
edited copies, burst shots). Nothing is deleted; the first photo of each group (largest
resolution) is the suggested keeper.
"""

from __future__ import annotations

import argparse
import datetime as dt

from photosearch.cli import common
from photosearch.core.units import format_bytes


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError("the threshold is a similarity in (0, 1]")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    from photosearch.core.search.duplicates import DEFAULT_THRESHOLD, UNVERIFIED_THRESHOLD

    p = common.add_command(sub, "duplicates", __doc__, run, "db", "json")
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        metavar="T",
        help=f"visual similarity at or above which photos are candidates (default {DEFAULT_THRESHOLD}, "
        f"or {UNVERIFIED_THRESHOLD} with --no-verify; higher = stricter)",
    )
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="group by the vectors alone, without comparing the photos' pixels (faster, "
        "but photos that merely look alike group too)",
    )


def run(args: argparse.Namespace) -> int:
    from photosearch.core.search.duplicates import find_duplicates

    with common.open_library(args) as library:
        if library.visual_model() is None:
            raise common.CommandError("the library is empty: photosearch index DIR")
        groups = find_duplicates(library, args.threshold, verify=args.verify)
    if args.json:
        common.print_json([g.as_list() for g in groups])
        return 0
    if not groups:
        print("no duplicates found")
        return 0
    for n, group in enumerate(groups, 1):
        print(
            f"Group {n}: {len(group.photos)} photos, {format_bytes(group.reclaimable)} reclaimable"
        )
        for k, p in enumerate(group.photos):
            mark = "keep" if k == 0 else ("same" if p.exact else f"{p.score:.3f}")
            res = f"{p.width}x{p.height}" if p.width and p.height else "?"
            date = dt.datetime.fromtimestamp(p.date, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
            print(f"  {mark:>5}  {res:>11}  {format_bytes(p.size):>9}  {date}  {p.path}")
        print()
    total = sum(g.reclaimable for g in groups)
    print(f"{len(groups)} groups; {format_bytes(total)} reclaimable by keeping the first of each")
    return 0
