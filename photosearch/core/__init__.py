"""Everything that works without Qt: encoder, word space, store, indexer, search.

Nothing under ``photosearch.core`` may import Qt; ``tests/test_core_without_qt.py`` proves it.
"""
