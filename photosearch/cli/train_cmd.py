"""``photosearch train DIR --out FILE``: learn a visual→word-space projection (DeViSE-style)."""

from __future__ import annotations

import argparse
import sys

from photosearch.cli.common import CommandError, add_model_options, load_encoder_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="learn a projection from labelled photos",
        description="Train only the final step: a linear map from the image model's vectors to the "
        "word space, with a ranking loss, from a folder of labelled photos (label = sub-folder "
        "name, or a labels.csv with file,label). Use it with --projection FILE.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument(
        "--out", required=True, metavar="FILE", help="where to write the projection (.npz)"
    )
    p.add_argument(
        "--loss",
        choices=("rank", "cosine"),
        default="rank",
        help="ranking hinge (default) or cosine regression",
    )
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--word-vectors", metavar="FILE", default=None, help="word vectors to train for")
    add_model_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photosearch.core.text import ProjectionError, WordSpaceError, load_model, train_from_folder

    try:
        model = load_model(args.word_vectors)
        result = train_from_folder(
            args.folder,
            args.out,
            encoder=load_encoder_from(args),
            model=model,
            loss=args.loss,
            epochs=args.epochs,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except (ProjectionError, WordSpaceError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    print(
        f"wrote {args.out} (final loss {result.losses[-1]:.4f}); use it with --projection {args.out}"
    )
    return 0
