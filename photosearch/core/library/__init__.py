"""The library database: connection, schema, the writer thread, locks, repair, and every SQL
statement of the app (photos, vectors, taught words, the GUI's browsing queries).

The lowest layer of the core: it imports nothing from the other core packages.
"""
