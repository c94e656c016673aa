"""Helpers shared by the subcommands: their parsers and options, output, progress, errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from photosearch.cli.filters import add_filter_options
from photosearch.cli.output import print_json as print_json
from photosearch.cli.output import use_safe_streams
from photosearch.core.errors import DatabaseError, UserError

log = logging.getLogger("photosearch")


class CommandError(UserError):
    """Bad input on the command line; printed without a traceback, exit status 2."""


OptionGroup = Literal["db", "json", "model", "text", "filters"]
"""A set of options several commands share, defined once in :data:`_OPTION_GROUPS`."""


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    doc: str | None,
    run: Callable[[argparse.Namespace], int],
    *options: OptionGroup,
    **parser_args: Any,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, which calls ``run(args)``, with the shared ``options``.

    ``doc`` is the command module's docstring, written as its --help: a first line
    "``photosearch NAME ...``: one-line help." and, below it, the description, if any.
    The option groups are argparse parent parsers, added in the order given, so --help lists
    them in that order, before the command's own options.
    """
    head, _, description = (doc or "").strip().partition("\n")
    summary = head.partition(": ")[2].removesuffix(".")
    parents = [_parent(_OPTION_GROUPS[option]) for option in options]
    parser = sub.add_parser(
        name, help=summary, description=description.strip() or None, parents=parents, **parser_args
    )
    parser.set_defaults(func=run)
    return parser


def _parent(add_options: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """A parent parser holding one option group; built afresh for every command, so a default
    read from the environment ($PHOTOSEARCH_MODEL) is read when the command line is parsed."""
    parent = argparse.ArgumentParser(add_help=False)
    add_options(parent)
    return parent


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="library database (default: $PHOTOSEARCH_DB, else the platform's data folder)",
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=os.environ.get("PHOTOSEARCH_MODEL", "efficientnet_lite0"),
        help="image model (default: efficientnet_lite0; torchvision names when weights are local)",
    )
    parser.add_argument("--weights", metavar="FILE", help="model weights file (.pth)")


def _text_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--word-vectors",
        metavar="FILE",
        help="word vectors (word2vec/GloVe/fastText, text or binary) instead of the shipped GloVe "
        "50d; remembered by the library, and its text vectors are recomputed (photos not re-read)",
    )
    parser.add_argument(
        "--projection",
        metavar="FILE",
        help="a projection trained with `photosearch train` (remembered by the library)",
    )
    debias = parser.add_mutually_exclusive_group()
    debias.add_argument(
        "--debias",
        action="store_const",
        const=True,
        help="hard-debias the word vectors for tags and queries (gender direction projected out; "
        "see `photosearch audit`); remembered by the library",
    )
    debias.add_argument(
        "--no-debias", dest="debias", action="store_const", const=False, help="undo --debias"
    )


_OPTION_GROUPS: dict[OptionGroup, Callable[[argparse.ArgumentParser], None]] = {
    "db": _db_option,
    "json": _json_option,
    "model": _model_options,
    "text": _text_options,
    "filters": add_filter_options,
}


def open_library(args: argparse.Namespace) -> Any:
    from photosearch.core.library.store import Library

    return Library(args.db)


def check_folder_args(args: argparse.Namespace) -> None:
    """Every FOLDER argument must be a folder (checked before the library is opened)."""
    for folder in args.folders:
        if not os.path.isdir(folder):
            raise CommandError(f"not a folder: {folder}")


def add_folder_args(library: Any, args: argparse.Namespace, command: str) -> list[Any]:
    """Add the FOLDER arguments to the library; its folders, or an error if it has none."""
    for folder in args.folders:
        library.add_folder(folder, use_polling=args.poll)
    folders = library.folders()
    if not folders:
        raise CommandError(f"no folders in the library yet: photosearch {command} DIR")
    return list(folders)


def load_encoder_from(args: argparse.Namespace) -> Any:
    from photosearch.core.vision.encoding import ModelNotFoundError
    from photosearch.core.vision.loader import load_encoder

    try:
        return load_encoder(
            getattr(args, "model", "efficientnet_lite0"), getattr(args, "weights", None)
        )
    except ModelNotFoundError as exc:
        raise CommandError(str(exc)) from exc


def absolute(path: str) -> str:
    return str(Path(path).expanduser().absolute())


def run_command(args: argparse.Namespace) -> int:
    from photosearch.core.errors import DatabaseCorruptError
    from photosearch.core.library.store import REPAIR_HINT
    from photosearch.core.vision.imageio import ImageLoadError

    use_safe_streams()
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"photosearch: {exc}", file=sys.stderr)
        return 2
    except DatabaseCorruptError as exc:
        hint = REPAIR_HINT.format(path=exc_path(exc, args))
        print(f"photosearch: {exc}\n{hint}", file=sys.stderr)
        return 3
    except DatabaseError as exc:
        print(f"photosearch: {exc}", file=sys.stderr)
        return 3
    except ImageLoadError as exc:
        print(f"photosearch: cannot read image: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:  # any other error the user can act on (a bad file, a bad word)
        print(f"photosearch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photosearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `photosearch search dog | head`: the reader left, fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (no flush error at exit)
        return 0


def exc_path(exc: Exception, args: argparse.Namespace) -> str:
    from photosearch.core.library.store import default_db_path

    return str(getattr(args, "db", None) or default_db_path())
