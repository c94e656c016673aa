"""Indexing: scan folders, sync the database with the disk, embed new photos, watch for changes."""
