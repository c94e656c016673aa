"""``photosearch classify IMAGE...``: top-5 ImageNet labels of images."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from photosearch.cli import common


def register(sub: argparse._SubParsersAction) -> None:
    p = common.add_command(sub, "classify", __doc__, run, "json", "model")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-k", type=int, default=5, help="labels per image (default 5)")


def run(args: argparse.Namespace) -> int:
    from photosearch.core.vision.imageio import ImageLoadError
    from photosearch.core.vision.imagenet import class_names

    encoder = common.load_encoder_from(args)
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
                "path": common.absolute(path),
                "labels": [
                    {"label": names[i], "probability": round(float(probs[i]), 6)} for i in top
                ],
            }
        )
    if args.json:
        common.print_json(out)
    else:
        for item in out:
            print(item["path"])
            for label in item["labels"]:
                print(f"  {label['probability']:6.1%}  {label['label']}")
    return status
