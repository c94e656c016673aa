"""Search: by example (the vector index), by words (text search with taught words), feedback on
results, near-duplicates."""
