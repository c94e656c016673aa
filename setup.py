"""Package list only (everything else is in pyproject.toml).

The top-level ``resources/`` folder (word vectors, WordNet data, icons, sample photos) ships
inside the wheel as the ``photosearch.resources`` package; pyproject.toml alone cannot combine
package discovery with that mapping.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["photosearch", "photosearch.*"]), "photosearch.resources"],
    package_dir={"photosearch.resources": "resources"},
)
