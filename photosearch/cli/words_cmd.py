"""``photosearch words``: the words you taught (list, rename, remove, export, import).

Without an action, list the taught words. Export files are JSON and can be imported into any
library that uses the same image model.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from photosearch.cli import common

if TYPE_CHECKING:
    from photosearch.core.teach.words import Words


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "words", __doc__, run, "db", "json")
    # --db and --json are taken after the action too; their default SUPPRESS keeps a value given
    # before it (`words --db X remove W`) instead of resetting it to the default.
    again = argparse.ArgumentParser(add_help=False)
    again.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="library database")
    again.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    remove = actions.add_parser("remove", help="forget a taught word", parents=[again])
    remove.add_argument("word", metavar="WORD")
    rename = actions.add_parser("rename", help="rename a taught word", parents=[again])
    rename.add_argument("word", metavar="WORD")
    rename.add_argument("new", metavar="NEW")
    export = actions.add_parser(
        "export", help="write every taught word to a JSON file", parents=[again]
    )
    export.add_argument("file", metavar="FILE")
    imp = actions.add_parser(
        "import", help="add the words of an exported JSON file", parents=[again]
    )
    imp.add_argument("file", metavar="FILE")


def run(args: argparse.Namespace) -> int:
    from photosearch.core.teach.words import TeachError, Words

    with common.open_library(args) as library:
        words = Words(library)
        try:
            result = _act(words, args)
        except TeachError as exc:
            raise common.CommandError(str(exc)) from exc
    if args.json:
        common.print_json(result)
    elif args.action is None:
        for w in result:
            nots = f", {w['negatives']} not" if w["negatives"] else ""
            stale = "" if w["current"] else "  (for another image model)"
            changed = time.strftime("%Y-%m-%d", time.localtime(w["changed_at"]))
            print(f"{w['word']}: {w['positives']} photos{nots}, changed {changed}{stale}")
    else:
        print(result["message"])
    return 0


def _act(words: Words, args: argparse.Namespace) -> Any:
    if args.action is None:
        return [w.as_dict() for w in words.list_words()]
    if args.action == "remove":
        if not words.remove(args.word):
            raise common.CommandError(
                f"no taught word {args.word!r} (photosearch words lists them)"
            )
        return {"removed": args.word, "message": f"removed {args.word!r}"}
    if args.action == "rename":
        renamed = words.rename(args.word, args.new)
        return {
            "renamed": args.word,
            "word": renamed.word,
            "message": f"renamed to {renamed.word!r}",
        }
    if args.action == "export":
        n = words.export(args.file)
        return {"exported": n, "file": args.file, "message": f"wrote {n} words to {args.file}"}
    imported = words.import_file(args.file)
    return {
        "imported": imported,
        "message": f"imported {len(imported)} words: {', '.join(imported)}",
    }
