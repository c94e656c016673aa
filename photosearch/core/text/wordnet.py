"""Run-time access to the shipped WordNet 3.0 noun resource (``resources/wordnet/nouns.json.gz``).

Built by ``tools/build_wordnet_resource.py``; WordNet itself is not needed at run time.
"""

from __future__ import annotations

import bisect
import gzip
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from photosearch.core.resources import resource_path
from photosearch.core.vision.imagenet import NUM_CLASSES

# WordNet's "morphy" detachment rules for nouns, tried in this order.
_SUFFIXES = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
             ("men", "man"), ("ies", "y"))  # fmt: skip
MAX_LEMMA_WORDS = 4  # longest multi-word lemma a query phrase is matched against


@dataclass(frozen=True)
class Synset:
    row: int
    offset: int  # WordNet 3.0 noun offset ("n%08d" is the ImageNet wnid)
    count: int  # SemCor tagged frequency of its senses
    lemmas: tuple[str, ...]  # as WordNet spells them, "_" replaced by " "
    hypernyms: tuple[int, ...]  # rows
    gloss: tuple[str, ...]  # the first content words of its definition

    @property
    def wnid(self) -> str:
        return f"n{self.offset:08d}"

    @property
    def name(self) -> str:
        return self.lemmas[0]


class WordNet:
    """Noun lemmas -> synsets (with sense weights), the hypernym graph, and the ImageNet classes
    below each synset."""

    def __init__(self, data: dict) -> None:
        if data.get("format") != "photosearch-wordnet-nouns":
            raise ValueError("not a photosearch WordNet resource")
        self._lines = data["synsets"].split("\n")
        self._keys = data["lexicon_keys"].split("\n")
        self._senses = data["lexicon_senses"].split("\n")
        self._exceptions = dict(line.split("\t") for line in data["exceptions"].split("\n") if line)
        self.class_rows = np.asarray(data["classes"], dtype=np.int64)
        if self.class_rows.shape != (NUM_CLASSES,):
            raise ValueError("WordNet resource: wrong number of ImageNet classes")
        self._descendants = {
            int(k): np.asarray(v, dtype=np.int64) for k, v in data["descendants"].items()
        }
        self._part_of = {int(k): tuple(v) for k, v in data.get("part_of", {}).items()}
        hyponyms = np.asarray(data["hyponym_counts"].split(","), dtype=np.float64)
        if hyponyms.shape != (len(self._lines),):
            raise ValueError("WordNet resource: hyponym counts do not match the synsets")
        # Intrinsic information content (Seco, Veale & Hayes 2004): 1 for a leaf, 0 for the root.
        self._information = 1.0 - np.log1p(hyponyms) / np.log(len(self._lines))
        self._class_of_row = {int(r): i for i, r in enumerate(self.class_rows)}
        self._cache: dict[int, Synset] = {}
        self._plurals: dict[str, str] | None = None

    @classmethod
    def default(cls) -> WordNet:
        return _default_wordnet()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WordNet:
        with gzip.open(Path(path), "rb") as f:
            return cls(json.loads(f.read()))

    def __len__(self) -> int:
        return len(self._lines)

    # -- synsets -------------------------------------------------------------------------
    def synset(self, row: int) -> Synset:
        found = self._cache.get(row)
        if found is None:
            offset, count, lemmas, hypernyms, gloss = self._lines[row].split("\t")
            found = Synset(
                row,
                int(offset),
                int(count),
                tuple(lemmas.split("|")),
                tuple(int(h) for h in hypernyms.split(",") if h),
                tuple(gloss.split()),
            )
            self._cache[row] = found
        return found

    def class_synset(self, class_index: int) -> Synset:
        return self.synset(int(self.class_rows[class_index]))

    def class_index(self, row: int) -> int | None:
        """The ImageNet class index of a synset, if it is one."""
        return self._class_of_row.get(row)

    def descendant_classes(self, row: int) -> np.ndarray:
        """ImageNet class indices at or below this synset (empty if none)."""
        return self._descendants.get(row, np.zeros(0, np.int64))

    def rows_with_classes(self) -> list[int]:
        """Synsets with at least one ImageNet class at or below them."""
        return sorted(self._descendants)

    def part_of(self, row: int) -> tuple[int, ...]:
        """Wholes this synset is a part of (WordNet part holonyms) that have ImageNet classes below
        them: "sail" -> "sailing vessel", "keyboard" -> ... ."""
        return self._part_of.get(row, ())

    def information_content(self, row: int) -> float:
        """How specific a synset is, from how many synsets lie below it: 1 for a leaf, 0 for
        ``entity`` (intrinsic IC, Seco et al. 2004)."""
        return float(self._information[row])

    def ancestors(self, row: int, max_depth: int = 20) -> list[tuple[int, int]]:
        """(row, depth) of the hypernyms above ``row``, breadth first, each once, nearest first."""
        out: list[tuple[int, int]] = []
        seen = {row}
        frontier = [row]
        for depth in range(1, max_depth + 1):
            nxt = []
            for node in frontier:
                for parent in self.synset(node).hypernyms:
                    if parent not in seen:
                        seen.add(parent)
                        out.append((parent, depth))
                        nxt.append(parent)
            if not nxt:
                break
            frontier = nxt
        return out

    def depth(self, row: int) -> int:
        """Length of the longest hypernym path to the root (``entity`` has depth 0)."""
        return _depth(self, row)

    # -- lemmas --------------------------------------------------------------------------
    def senses(self, lemma: str) -> list[tuple[int, int]]:
        """(row, tagged count) of an exact lemma (lowercase, spaces), in WordNet's sense order."""
        lemma = lemma.lower().strip().replace("_", " ")
        i = bisect.bisect_left(self._keys, lemma)
        if i == len(self._keys) or self._keys[i] != lemma:
            return []
        out = []
        for item in self._senses[i].split(","):
            row, count = item.split(":")
            out.append((int(row), int(count)))
        return out

    def irregular_plural(self, word: str) -> str | None:
        """The plural noun.exc lists for ``word`` ("mouse" -> "mice"), if any."""
        if self._plurals is None:
            self._plurals = {}
            for inflected, base in sorted(self._exceptions.items()):
                self._plurals.setdefault(base, inflected)
        return self._plurals.get(word)

    def base_forms(self, word: str) -> list[str]:
        """Candidate lemmas for a (possibly inflected) noun, most likely first: the word itself,
        its irregular base (noun.exc), then WordNet's suffix rules; for a multi-word expression
        the last word is inflected ("stop signs")."""
        word = " ".join(word.lower().replace("_", " ").split())
        prefix, _, last = word.rpartition(" ")
        prefix = prefix + " " if prefix else ""
        forms = [word]
        if word in self._exceptions:
            forms.append(self._exceptions[word])
        if last in self._exceptions:
            forms.append(prefix + self._exceptions[last])
        for suffix, ending in _SUFFIXES:
            if last.endswith(suffix) and len(last) > len(suffix) + 1:
                forms.append(prefix + last[: -len(suffix)] + ending)
        seen: list[str] = []
        for form in forms:
            if form not in seen:
                seen.append(form)
        return seen

    def lookup(self, word: str) -> list[tuple[int, float]]:
        """Senses of a query word as (row, weight), weights summing to 1.

        Every base form counts ("shoes" is the idiom "in his shoes" *and* the plural of "shoe";
        "pants" is also the plural of "pant", trousers). A sense weighs its SemCor count plus an
        even share of one pseudo-count: WordNet's order of untagged senses says nothing about
        their frequency (beaver the rodent is its 7th sense), so they start equal."""
        weights: dict[int, float] = {}
        for form in self.base_forms(word):
            senses = self.senses(form)
            if not senses and "-" in form:
                senses = self.senses(form.replace("-", " ")) or self.senses(form.replace("-", ""))
            for row, count in senses:
                weights[row] = max(weights.get(row, 0.0), count + 1.0 / len(senses))
        total = sum(weights.values())
        return [(row, w / total) for row, w in weights.items()]

    def is_lemma(self, phrase: str) -> bool:
        return bool(self.lookup(phrase))


@lru_cache(maxsize=1)
def _default_wordnet() -> WordNet:
    return WordNet.load(resource_path("wordnet", "nouns.json.gz"))


def _depth(wordnet: WordNet, row: int, _memo: dict[int, int] | None = None) -> int:
    memo: dict[int, int] = {} if _memo is None else _memo
    stack = [row]
    while stack:
        node = stack[-1]
        parents = wordnet.synset(node).hypernyms
        pending = [p for p in parents if p not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[node] = 1 + max((memo[p] for p in parents), default=-1)
    return memo[row]
