"""``photosearch folders``: list, add or remove watched folders."""

from __future__ import annotations

import argparse

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "folders", __doc__, run, "db", "json")
    p.add_argument("action", nargs="?", choices=("list", "add", "remove"), default="list")
    p.add_argument("paths", nargs="*", metavar="DIR")


def run(args: argparse.Namespace) -> int:
    with common.open_library(args) as library:
        for path in args.paths:
            if args.action == "add":
                library.add_folder(path)
            elif args.action == "remove" and not library.remove_folder(path):
                raise common.CommandError(f"not a watched folder: {path}")
        folders = library.folders()
    if args.json:
        common.print_json(
            [{"path": f.path, "online": f.online, "polling": f.use_polling} for f in folders]
        )
    else:
        for f in folders:
            print(f.path + ("" if f.online else "  [offline]"))
    return 0
