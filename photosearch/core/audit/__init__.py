"""Bias audit of the word vectors, auto-tags and text search (no Qt).

* :mod:`.weat` — Word Embedding Association Test (Caliskan et al. 2017) and per-word
  projections on the gender direction (Bolukbasi et al. 2016);
* the gender direction and the optional hard debiasing live in the runtime's text layer
  (:mod:`photosearch.core.text.debias`), the word sets in :mod:`photosearch.core.text.wordsets`:
  the audit reads them, they never import the audit;
* :mod:`.photos` — the photo side: leans of photo semantic vectors and of neutral queries,
  identity terms in auto-tags, retrieval P@10;
* :mod:`.report` — :func:`run_audit` (one JSON-ready dict) and the text summary;
  :mod:`.html` — the self-contained HTML report.
"""

from photosearch.core.audit.report import run_audit, summary_text
from photosearch.core.audit.weat import WeatResult, run_weat, weat
from photosearch.core.text.debias import DebiasedWordSpace, debias_space, gender_direction
from photosearch.core.text.wordsets import WordSets, load_word_sets

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
