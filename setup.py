"""Package list only (everything else is in pyproject.toml).

The top-level ``resources/`` folder (word vectors, WordNet data, icons, sample photos) ships
inside the wheel as the ``photosearch.resources`` package; pyproject.toml alone cannot combine
package discovery with that mapping. Its sub-folders are data, listed so setuptools includes them.
"""

from pathlib import Path

from setuptools import find_packages, setup

RESOURCES = Path(__file__).parent / "resources"
data_packages = [
    "photosearch.resources." + ".".join(p.relative_to(RESOURCES).parts)
    for p in sorted(RESOURCES.rglob("*"))
    if p.is_dir() and all(part.isidentifier() for part in p.relative_to(RESOURCES).parts)
]

setup(
    packages=[
        *find_packages(include=["photosearch", "photosearch.*"]),
        "photosearch.resources",
        *data_packages,
    ],
    package_dir={"photosearch.resources": "resources"},
)
