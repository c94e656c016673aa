"""Bias audit of the word vectors, auto-tags and text search (no Qt).

* :mod:`.weat` — Word Embedding Association Test (Caliskan et al. 2017), gender direction and
  per-word projections (Bolukbasi et al. 2016);
* :mod:`.debias` — optional hard debiasing giving a :class:`DebiasedWordSpace` with the
  ``WordSpace`` interface;
* :mod:`.photos` — the photo side: leans of photo semantic vectors and of neutral queries,
  identity terms in auto-tags, retrieval P@10;
* :mod:`.report` — :func:`run_audit` (one JSON-ready dict) and the text summary;
  :mod:`.html` — the self-contained HTML report.
"""

from photosearch.core.audit.debias import DebiasedWordSpace, debias_space
from photosearch.core.audit.report import run_audit, summary_text
from photosearch.core.audit.weat import WeatResult, gender_direction, run_weat, weat
from photosearch.core.audit.wordsets import WordSets, load_word_sets

__all__ = [
    "DebiasedWordSpace",
    "WeatResult",
    "WordSets",
    "debias_space",
    "gender_direction",
    "load_word_sets",
    "run_audit",
    "run_weat",
    "summary_text",
    "weat",
]
