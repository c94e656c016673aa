"""Text-to-image search: word space, WordNet, ConSE, a query language, tags and evaluation."""
