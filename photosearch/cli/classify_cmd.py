"""``photosearch classify IMAGE...``: the model's top-5 ImageNet labels."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from photosearch.cli.common import (
    absolute,
    json_options,
    load_encoder_from,
    model_options,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="top-5 ImageNet labels of images",
        parents=[json_options(), model_options()],
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-k", type=int, default=5, help="labels per image (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from photosearch.core.vision.imageio import ImageLoadError
    from photosearch.core.vision.imagenet import class_names

    encoder = load_encoder_from(args)
    names = class_names()
    out: list[dict[str, Any]] = []
    status = 0
    for path in args.images:
        try:
            probs = encoder.encode_paths([path]).probs[0]
        except ImageLoadError as exc:
            print(f"photosearch: {exc}", file=sys.stderr)
            status = 2
            continue
        top = np.argsort(-probs)[: args.k]
        out.append(
            {
                "path": absolute(path),
                "labels": [
                    {"label": names[i], "probability": round(float(probs[i]), 6)} for i in top
                ],
            }
        )
    if args.json:
        print_json(out)
    else:
        for item in out:
            print(item["path"])
            for label in item["labels"]:
                print(f"  {label['probability']:6.1%}  {label['label']}")
    return status
