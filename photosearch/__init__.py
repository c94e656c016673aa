"""photosearch: an offline desktop photo library with semantic search."""

__version__ = "0.1.0"
APP_NAME = "photosearch"
