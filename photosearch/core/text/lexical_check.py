"""A photo-free check of text search over all of WordNet: do words reach the classes they name?

For every lemma of every synset that has ImageNet classes below it, in the singular and in the
plural, the query's class weights are compared with the classes below any of the lemma's senses:

* *share*: the fraction of the query's class weight that lies on those classes;
* *top hit*: whether the most weighted class is one of them.

And every ImageNet class name must put its own class first (a tie counts, and so does another
class of the same name: "crane" the bird or the machine).

No photos are involved, so the check covers tens of thousands of words no photo set reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photosearch.core.text.semantic import SemanticModel, default_model
from photosearch.core.text.wordnet import WordNet
from photosearch.core.vision.imagenet import imagenet_classes

_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")


def plural(lemma: str, wordnet: WordNet) -> str:
    """The regular English plural of a noun lemma (its last word), or the irregular one WordNet's
    exception list gives."""
    prefix, _, last = lemma.rpartition(" ")
    prefix = prefix + " " if prefix else ""
    irregular = wordnet.irregular_plural(last)
    if irregular:
        return prefix + irregular
    if last.endswith(_SIBILANT_ENDINGS):
        return f"{prefix}{last}es"
    if last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        return f"{prefix}{last[:-1]}ies"
    return f"{prefix}{last}s"


@dataclass
class LexicalReport:
    words: int  # lemma forms checked (singular and plural)
    mean_share: float  # mean share of class weight on the lemma's own classes
    top_hit_rate: float  # fraction whose most weighted class is one of its own
    plural_agreement: float  # fraction of lemmas whose plural has the same top-hit outcome
    class_names: int
    class_names_first: int  # ImageNet class names whose own class (or a namesake) is first
    class_name_failures: list[str]

    def as_dict(self) -> dict:
        return {
            "words": self.words,
            "mean_share": round(self.mean_share, 4),
            "top_hit_rate": round(self.top_hit_rate, 4),
            "plural_agreement": round(self.plural_agreement, 4),
            "class_names": self.class_names,
            "class_names_first": self.class_names_first,
            "class_name_failures": self.class_name_failures,
        }


def lemmas_with_classes(wordnet: WordNet) -> list[str]:
    """Lowercase lemmas of the synsets that have ImageNet classes below them."""
    lemmas: set[str] = set()
    for row in wordnet.rows_with_classes():
        for lemma in wordnet.synset(row).lemmas:
            if lemma == lemma.lower():
                lemmas.add(lemma)
    return sorted(lemmas)


def _own_classes(model: SemanticModel, lemma: str) -> np.ndarray:
    rows = [row for row, _ in model.wordnet.lookup(lemma)]
    own = [model.wordnet.descendant_classes(row) for row in rows]
    return np.unique(np.concatenate(own)) if own else np.zeros(0, np.int64)


def check_word(model: SemanticModel, word: str, own: np.ndarray) -> tuple[float, bool]:
    """(share of class weight on ``own``, whether the top class is in ``own``)."""
    weights = model.concept(word).class_weights
    total = float(weights.sum())
    if total <= 0 or len(own) == 0:
        return 0.0, False
    best = float(weights.max())
    top_classes = np.flatnonzero(weights >= best)
    return float(weights[own].sum()) / total, bool(np.isin(top_classes, own).any())


def class_name_check(model: SemanticModel) -> tuple[int, list[str]]:
    """(class names checked, the names whose own class or a namesake is not first)."""
    by_name: dict[str, list[int]] = {}
    for cls in imagenet_classes():
        by_name.setdefault(cls.name.lower(), []).append(cls.index)
    failures = []
    for name, indices in sorted(by_name.items()):
        weights = model.concept(name).class_weights
        best = float(weights.max())
        if best <= 0 or not (weights[indices] >= best).any():
            failures.append(name)
    return len(by_name), failures


def lexical_check(model: SemanticModel | None = None) -> LexicalReport:
    model = model or default_model()
    shares: list[float] = []
    hits: list[bool] = []
    agree = 0
    lemmas = lemmas_with_classes(model.wordnet)
    for lemma in lemmas:
        own = _own_classes(model, lemma)
        singular = check_word(model, lemma, own)
        plural_form = check_word(model, plural(lemma, model.wordnet), own)
        for share, hit in (singular, plural_form):
            shares.append(share)
            hits.append(hit)
        agree += singular[1] == plural_form[1]
    names, failures = class_name_check(model)
    return LexicalReport(
        words=len(shares),
        mean_share=float(np.mean(shares)),
        top_hit_rate=float(np.mean(hits)),
        plural_agreement=agree / len(lemmas),
        class_names=names,
        class_names_first=names - len(failures),
        class_name_failures=failures,
    )
