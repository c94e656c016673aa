"""``photosearch status``: counts per status, folders, database size, model."""

from __future__ import annotations

import argparse

from photosearch.cli import common
from photosearch.core.units import format_bytes


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "status", __doc__, run, "db", "json")
    p.add_argument(
        "--check",
        action="store_true",
        help="first check the whole database file for damage (PRAGMA quick_check; exit "
        "status 3 with the repair hint when it is damaged)",
    )


def run(args: argparse.Namespace) -> int:
    with common.open_library(args) as library:
        if args.check:
            library.check_integrity()  # raises DatabaseCorruptError: exit status 3 and the hint
        counts = library.status_counts()
        per_folder = library.folder_counts()
        folders = [
            {
                "path": f.path,
                "online": f.online,
                "polling": f.use_polling,
                "photos": sum(per_folder.get(f.id, {}).values()),
                "counts": per_folder.get(f.id, {}),
            }
            for f in library.folders()
        ]
        data = {
            "database": str(library.path),
            "database_bytes": library.size_bytes(),
            "photos": sum(counts.values()),
            "counts": counts,
            "folders": folders,
            "model": library.visual_model(),
            "word_space": library.semantic_space(),
            "errors": [{"path": p.path, "message": p.error} for p in library.errors(50)],
        }
        if args.check:
            data["integrity"] = "ok"
    if args.json:
        common.print_json(data)
        return 0
    print(f"library   {data['database']} ({format_bytes(data['database_bytes'])})")
    print(f"model     {data['model'] or '-'}")
    print(f"words     {data['word_space'] or '-'}")
    if args.check:
        print("check     ok (no damage found in the whole file)")
    print(
        "photos    "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f" ({data['photos']} total)"
    )
    for f in folders:
        state = "" if f["online"] else " [offline]"
        print(f"folder    {f['path']}{state}: {f['photos']} photos")
    for e in data["errors"][:10]:
        print(f"error     {e['path']}: {e['message']}")
    return 0
