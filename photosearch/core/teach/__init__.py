"""Taught words: the user's own concepts from a few photos (docs/teach.md).

* :class:`~photosearch.core.teach.words.Words`: list, teach, rename, remove, export, import;
* :func:`~photosearch.core.teach.fit.fit_word`: the fit itself;
* :mod:`~photosearch.core.teach.search`: taught words in a query's scores and in tags.

Feedback on results (refine from ✓/✗ marks, more like these) runs a search, so it sits one layer
up, in :mod:`photosearch.core.search.feedback`. The taught words' tables and their SQL are in
:mod:`photosearch.core.library.taught`.
"""
