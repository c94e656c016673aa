"""The word lists the audit uses (``resources/audit/weat_sets.json``), with their sources."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from photosearch.core.errors import WordSpaceProblem
from photosearch.core.resources import resource_path

FORMAT = "photosearch-audit-wordsets"


@dataclass(frozen=True)
class WeatSpec:
    """One WEAT: targets X, Y and attributes A, B (word lists as published)."""

    id: str
    title: str
    role: str
    source: str
    x_name: str
    x: tuple[str, ...]
    y_name: str
    y: tuple[str, ...]
    a_name: str
    a: tuple[str, ...]
    b_name: str
    b: tuple[str, ...]


@dataclass(frozen=True)
class WordSets:
    weat: tuple[WeatSpec, ...]
    definitional_pairs: tuple[tuple[str, str], ...]
    equalize_pairs: tuple[tuple[str, str], ...]
    gender_specific: frozenset[str]
    occupations: tuple[str, ...]
    neutral_queries: tuple[str, ...]
    sensitive_groups: dict[str, tuple[str, ...]]
    ambiguous_terms: tuple[str, ...]
    sources: dict[str, str] = field(default_factory=dict)

    def weat_spec(self, test_id: str) -> WeatSpec:
        for spec in self.weat:
            if spec.id == test_id:
                return spec
        raise KeyError(test_id)

    @property
    def male_terms(self) -> tuple[str, ...]:
        return tuple(m for _, m in self.definitional_pairs)

    @property
    def female_terms(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.definitional_pairs)

    def gendered_words(self) -> frozenset[str]:
        """Words that are gendered by definition: the gender-specific list and all pair words."""
        words = set(self.gender_specific)
        for pair in (*self.definitional_pairs, *self.equalize_pairs):
            words.update(pair)
        words.update(self.sensitive_groups.get("gender", ()))
        return frozenset(words)


class WordSetsError(WordSpaceProblem):
    """The word-list file cannot be used. Message is user-facing."""


def load_word_sets(path: str | os.PathLike[str] | None = None) -> WordSets:
    """The shipped lists (cached), or a JSON file in the same format."""
    if path is None:
        return _default_sets()
    return _parse(Path(path))


@lru_cache(maxsize=1)
def _default_sets() -> WordSets:
    return _parse(resource_path("audit", "weat_sets.json"))


def _words(values: Any) -> tuple[str, ...]:
    return tuple(str(v).strip().lower() for v in values)


def _parse(path: Path) -> WordSets:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WordSetsError(f"cannot read word lists {path}: {exc}") from exc
    if data.get("format") != FORMAT:
        raise WordSetsError(f"{path} is not a photosearch audit word-list file")
    try:
        weat = tuple(
            WeatSpec(
                id=t["id"],
                title=t["title"],
                role=t.get("role", ""),
                source=t.get("source", ""),
                x_name=t["X_name"],
                x=_words(t["X"]),
                y_name=t["Y_name"],
                y=_words(t["Y"]),
                a_name=t["A_name"],
                a=_words(t["A"]),
                b_name=t["B_name"],
                b=_words(t["B"]),
            )
            for t in data["weat"]
        )
        gender = data["gender"]
        pairs = tuple((str(a).lower(), str(b).lower()) for a, b in gender["definitional_pairs"])
        equalize = tuple((str(a).lower(), str(b).lower()) for a, b in gender["equalize_pairs"])
        sensitive = data.get("sensitive_terms", {})
        return WordSets(
            weat=weat,
            definitional_pairs=pairs,
            equalize_pairs=equalize,
            gender_specific=frozenset(_words(gender["gender_specific"])),
            occupations=_words(data.get("occupations", {}).get("words", [])),
            neutral_queries=_words(data.get("neutral_queries", {}).get("words", [])),
            sensitive_groups={k: _words(v) for k, v in sensitive.get("groups", {}).items()},
            ambiguous_terms=_words(sensitive.get("ambiguous", {}).get("words", [])),
            sources=dict(data.get("sources", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WordSetsError(f"{path}: malformed word lists ({exc})") from exc
