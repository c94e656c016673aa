"""The 1000 ImageNet-1k classes: index, WordNet 3.0 synset id and a readable name."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from photosearch.core.resources import resource_path

NUM_CLASSES = 1000


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str  # "n02084071": WordNet 3.0 noun offset with the "n" prefix
    name: str  # torchvision's display name, e.g. "golden retriever"


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    rows = []
    with open(resource_path("imagenet_classes.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            index, wnid, name = line.rstrip("\n").split("\t")
            rows.append(ImageNetClass(int(index), wnid, name))
    if len(rows) != NUM_CLASSES or any(r.index != i for i, r in enumerate(rows)):
        raise RuntimeError("resources/imagenet_classes.tsv is damaged")
    return tuple(rows)


def class_names() -> list[str]:
    return [c.name for c in imagenet_classes()]


@lru_cache(maxsize=1)
def classes_by_name() -> dict[str, tuple[int, ...]]:
    """Lowercase display name -> the classes of that name ("crane" names none twice: torchvision
    calls the bird "crane bird")."""
    found: dict[str, list[int]] = {}
    for cls in imagenet_classes():
        found.setdefault(cls.name.lower(), []).append(cls.index)
    return {name: tuple(indices) for name, indices in found.items()}
