"""Measurement and training off the runtime path: text-search evaluation on labelled folders and
projection training. The app never imports this package while it runs (only the CLI's
``eval`` and ``train`` commands and the audit do)."""
