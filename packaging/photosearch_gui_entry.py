"""PyInstaller entry point for the bundled GUI (the same as the ``photosearch-gui`` script)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Any worker processes of a frozen app re-run this file; let them do their job and stop.
    multiprocessing.freeze_support()
    from photosearch.gui.app import main

    sys.exit(main())
