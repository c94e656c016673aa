"""Taught words and feedback: the user's own concepts from a few photos (docs/teach.md).

* :class:`~photosearch.core.teach.words.Words`: list, teach, rename, remove, export, import;
* :func:`~photosearch.core.teach.fit.fit_word`: the fit itself;
* :mod:`~photosearch.core.search.feedback`: refine a result list from marks, more like these.
"""
