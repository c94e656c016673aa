"""``photosearch audit``: bias audit of the word vectors, auto-tags and text search.

Word association tests (WEAT) with effect sizes and permutation p-values, occupations on the
gender direction, and on a folder of photos: how far photo vectors, auto-tags and neutral queries
lean toward gendered or other identity words. Optionally shows the effect of hard debiasing. See
docs/audit.md for what this measures and its limits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photosearch.cli import common
from photosearch.cli.progress import counter


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "audit", __doc__, run, "json", "model")
    p.add_argument(
        "--word-vectors",
        metavar="PATH",
        default=None,
        help="word2vec/GloVe/fastText file to audit (default: the shipped GloVe 50d)",
    )
    p.add_argument(
        "--photos",
        metavar="DIR",
        default=None,
        help="folder of photos to audit (default: the bundled sample photos); with a labels.csv "
        "(file,label[,query]) it also reports per-class leans and retrieval P@10",
    )
    p.add_argument(
        "--eval-photos",
        metavar="DIR",
        default=None,
        help="labelled folder (labels.csv) for retrieval P@10 (default: --photos if labelled)",
    )
    p.add_argument(
        "--no-photos", action="store_true", help="word-vector tests only (no image model needed)"
    )
    p.add_argument(
        "--debias",
        action="store_true",
        help="also hard-debias the vectors (Bolukbasi et al. 2016) and show before/after",
    )
    p.add_argument(
        "--permutations",
        type=int,
        default=None,
        metavar="N",
        help="random partitions for a WEAT p-value when exact enumeration is too large "
        "(default 20000, fixed seed)",
    )
    p.add_argument("--report", metavar="FILE.html", default=None, help="write an HTML report")


def run(args: argparse.Namespace) -> int:
    from photosearch.core.audit.html import write_report
    from photosearch.core.audit.report import run_audit, summary_text
    from photosearch.core.text.wordsets import WordSetsError
    from photosearch.core.text.wordspace import WordSpaceError

    for option in ("photos", "eval_photos"):
        value = getattr(args, option)
        if value is not None and not Path(value).is_dir():
            raise common.CommandError(f"--{option.replace('_', '-')}: not a folder: {value}")
    if args.permutations is not None and args.permutations < 10_000:
        raise common.CommandError("--permutations must be at least 10000")
    verbose = sys.stderr.isatty() and not args.json
    photo_progress = counter("encoding photos", " photos", sys.stderr.isatty())

    def say(message: str) -> None:
        if verbose:
            print(f"… {message}", file=sys.stderr)

    encoder = None if args.no_photos else common.load_encoder_from(args)
    try:
        result = run_audit(
            args.word_vectors,
            None if args.photos is None else common.absolute(args.photos),
            debias=args.debias,
            eval_photos=None if args.eval_photos is None else common.absolute(args.eval_photos),
            include_photos=not args.no_photos,
            encoder=encoder,
            permutations=args.permutations,
            progress=say,
            photo_progress=photo_progress,
        )
    except (WordSpaceError, WordSetsError) as exc:
        raise common.CommandError(str(exc)) from exc
    except (FileNotFoundError, ValueError) as exc:
        raise common.CommandError(str(exc)) from exc
    if args.report:
        path = write_report(result, common.absolute(args.report))
        result["report"] = str(path)
    if args.json:
        compact = dict(result)
        if compact.get("photos"):
            compact["photos"] = _without_rows(compact["photos"])
        common.print_json(compact)
    else:
        print(summary_text(result))
        if args.report:
            print(f"\nHTML report: {result['report']}")
    return 0


def _without_rows(section: dict) -> dict:
    """The JSON keeps every measure but not the per-photo rows of large folders (over 500)."""
    out = dict(section)
    for key in ("before", "after"):
        part = out.get(key)
        if part and len(part.get("photo_rows", [])) > 500:
            out[key] = {k: v for k, v in part.items() if k != "photo_rows"}
            out[key]["photo_rows_omitted"] = len(part["photo_rows"])
    return out
