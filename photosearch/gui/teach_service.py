"""Taught words and feedback for the window: the functions its workers run.

Everything here reads or writes the library (and fits on stored vectors), so it runs on the task
runner, never on the GUI thread. The words are a :class:`~photosearch.core.teach.words.Words`
over the searcher's own library and in-memory index, as its text searcher's are, so a word
taught here is what the next query uses. Listing and teaching need no word vectors and do not
load them; feedback scores through the text searcher. docs/teach.md has the core API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from photosearch.core.search.searcher import Filters, Searcher
from photosearch.core.search.text_search import Outcome
from photosearch.core.teach.words import TaughtWord, Words
from photosearch.gui.search_service import DEFAULT_K, text_searcher

if TYPE_CHECKING:
    from photosearch.core.search.feedback import Feedback


def words(searcher: Searcher) -> Words:
    return Words(searcher.library, searcher.index)


def list_words(searcher: Searcher) -> list[TaughtWord]:
    return words(searcher).list_words()


def teach(searcher: Searcher, word: str, photo_ids: Sequence[int]) -> tuple[TaughtWord, int]:
    """Teach ``word`` from photos (added to what it knew): the word, and how many examples it
    gained (photos it had already count once)."""
    taught_words = words(searcher)
    before = taught_words.get(word)
    taught = taught_words.teach(word, list(photo_ids))
    return taught, taught.positives - (before.positives if before else 0)


def rename(searcher: Searcher, old: str, new: str) -> TaughtWord:
    return words(searcher).rename(old, new)


def remove(searcher: Searcher, word: str) -> bool:
    return words(searcher).remove(word)


def in_query(searcher: Searcher, text: str) -> list[TaughtWord]:
    """The taught words a query uses ([] for none)."""
    if not text.strip():
        return []
    found: list[TaughtWord] = words(searcher).in_query(text)
    return found


def save_as_word(
    searcher: Searcher, word: str, marks: Mapping[int, bool], word_vectors: str = ""
) -> TaughtWord:
    feedback = _feedback(searcher, word_vectors)
    return feedback.save_as_word(word, dict(marks))


def refine(
    searcher: Searcher,
    query: str,
    marks: Mapping[int, bool],
    filters: Filters | None = None,
    word_vectors: str = "",
    k: int = DEFAULT_K,
) -> Outcome:
    """A text query's results re-ranked by the ✓/✗ marks (the ✗ photos left out)."""
    feedback = _feedback(searcher, word_vectors)
    outcome: Outcome = feedback.refine(query, dict(marks), k, filters)
    return outcome


def more_like_these(
    searcher: Searcher,
    photo_ids: Sequence[int],
    filters: Filters | None = None,
    word_vectors: str = "",
    k: int = DEFAULT_K,
) -> Outcome:
    """Photos like the selected ones (which are left out)."""
    feedback = _feedback(searcher, word_vectors)
    outcome: Outcome = feedback.more_like_these(list(photo_ids), k, filters)
    return outcome


def _feedback(searcher: Searcher, word_vectors: str) -> Feedback:
    # lazy: feedback scores through the text layer, which loads with the first text query
    from photosearch.core.search.feedback import Feedback

    return Feedback(text_searcher(searcher, word_vectors))


def describe_count(n: int, what: str = "photo") -> str:
    return f"{n:,} {what}{'s' if n != 1 else ''}"
