"""``photosearch index DIR...``: add folders to the library and index their photos.

Add folders (remembered) and bring the library in sync with every watched folder: new photos are
embedded, moved ones keep their embedding, vanished ones leave the results. Returns when every
photo is embedded. While another photosearch process indexes the same library (the app, `watch`,
another `index`), waits for it first.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from photosearch.cli import common
from photosearch.cli.progress import ProgressBar, format_duration


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "index", __doc__, run, "db", "json", "model", "text")
    p.add_argument(
        "folders", nargs="*", metavar="DIR", help="folders to add (default: re-sync all)"
    )
    p.add_argument(
        "--poll", action="store_true", help="watch these folders by polling (network drives)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="photos per inference batch")
    p.add_argument("--workers", type=int, default=None, help="decode threads (default: CPU count)")
    p.add_argument(
        "--progress", action="store_true", help="show the progress bar even when not a terminal"
    )


def run(args: argparse.Namespace) -> int:
    from photosearch.core.indexing.indexer import Indexer

    common.check_folder_args(args)
    with common.open_library(args) as library:
        common.add_folder_args(library, args, "index")
        encoder = common.load_encoder_from(args)
        semantic = semantic_embedder_from(args, library)
        indexer = Indexer(
            library, encoder, semantic, batch_size=args.batch_size, decode_workers=args.workers
        )
        bar = ProgressBar(True if args.progress else None)
        try:
            summary = indexer.run(on_progress=_with_wait_message(bar.update))
        finally:
            bar.close()
    data = summary.as_dict()
    data["inference"] = inference_info(encoder)
    if args.json:
        common.print_json(data)
    else:
        rate = ""
        if summary.embedded and summary.seconds > 0:
            rate = f" ({summary.embedded / summary.seconds:.1f} photos/s, {encoder.backend})"
        print(
            f"added {summary.added}, updated {summary.updated}, moved {summary.moved}, "
            f"missing {summary.missing}, offline {summary.offline}, errors {summary.errors}, "
            f"embedded {summary.embedded} in {format_duration(summary.seconds)}{rate}",
        )
        for path, message in summary.problems[:20]:
            print(f"  skipped {path}: {message}", file=sys.stderr)
    return 0


def _with_wait_message(update: Any) -> Any:
    """Progress that also says, on stderr, when the run waits for another process's indexer
    (the indexer reports the wait once)."""
    from photosearch.core.indexing.indexer import waiting_message

    def on_progress(progress: Any) -> None:
        if progress.phase == "wait":
            print(f"photosearch: {waiting_message(progress.pid)}…", file=sys.stderr, flush=True)
        else:
            update(progress)

    return on_progress


def inference_info(encoder: Any) -> dict[str, str]:
    """What ran the image model: for bug reports and for comparing machines."""
    return {
        "model": encoder.model_id,
        "backend": encoder.backend,
        "device": str(encoder.device),
    }


def semantic_embedder_from(args: argparse.Namespace, library: Any) -> Any:
    """The word-space embedder for indexing: --word-vectors/--projection, else what the library
    used last, else the shipped GloVe vectors."""
    from photosearch.core.search.text_search import build_library_embedder
    from photosearch.core.text import ProjectionError, WordSpaceError

    try:
        return build_library_embedder(
            library,
            getattr(args, "word_vectors", None),
            getattr(args, "projection", None),
            debias=getattr(args, "debias", None),
        )
    except (WordSpaceError, ProjectionError, ValueError, OSError) as exc:
        raise common.CommandError(str(exc)) from exc
