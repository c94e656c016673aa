"""``photosearch folders``: list, add or remove watched folders without indexing."""

from __future__ import annotations

import argparse

from photosearch.cli.common import (
    CommandError,
    db_options,
    json_options,
    open_library,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "folders",
        help="list, add or remove watched folders",
        parents=[db_options(), json_options()],
    )
    p.add_argument("action", nargs="?", choices=("list", "add", "remove"), default="list")
    p.add_argument("paths", nargs="*", metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_library(args) as library:
        for path in args.paths:
            if args.action == "add":
                library.add_folder(path)
            elif args.action == "remove" and not library.remove_folder(path):
                raise CommandError(f"not a watched folder: {path}")
        folders = library.folders()
    if args.json:
        print_json(
            [{"path": f.path, "online": f.online, "polling": f.use_polling} for f in folders]
        )
    else:
        for f in folders:
            print(f.path + ("" if f.online else "  [offline]"))
    return 0
