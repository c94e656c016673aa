"""The PySide6 desktop app: thin panels over :mod:`photosearch.core`.

Every Qt import goes through :mod:`photosearch.gui.qt`. Importing this package must stay cheap:
torch, the encoder and the text module are imported lazily, on worker threads.
"""
