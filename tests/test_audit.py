"""The bias audit: WEAT statistics, debiasing, and the ``photosearch audit`` command."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from helpers import copy_sample

from photosearch.core.audit.weat import permutation_p_value, run_weat, weat
from photosearch.core.text.debias import debias_space, gender_direction
from photosearch.core.text.wordsets import load_word_sets
from photosearch.core.text.wordspace import WordSpace

DIM = 16


def _space(vectors: dict[str, np.ndarray], fillers: int = 200) -> WordSpace:
    """A WordSpace over given vectors plus random filler words (so mean removal is mild)."""
    rng = np.random.default_rng(1)
    words = list(vectors) + [f"filler{i}" for i in range(fillers)]
    matrix = np.stack(
        [*vectors.values(), *rng.normal(size=(fillers, DIM)).astype(np.float32)]
    ).astype(np.float32)
    kv = KeyedVectors(vector_size=DIM, count=0, dtype=np.float32)
    kv.index_to_key = words
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = matrix
    return WordSpace(kv, "synthetic", "0" * 64)


def _planted(bias: float, copy_y_from_x: bool = False) -> tuple[WordSpace, list[list[str]]]:
    rng = np.random.default_rng(0)
    axis = np.zeros(DIM, np.float32)
    axis[0] = 1.0
    vectors: dict[str, np.ndarray] = {}
    sets: list[list[str]] = [[], [], [], []]
    for i in range(8):
        x = rng.normal(size=DIM).astype(np.float32) * 0.3 + bias * axis
        vectors[f"x{i}"] = x
        vectors[f"y{i}"] = (
            x.copy()
            if copy_y_from_x
            else rng.normal(size=DIM).astype(np.float32) * 0.3 - bias * axis
        )
        vectors[f"a{i}"] = rng.normal(size=DIM).astype(np.float32) * 0.3 + axis
        vectors[f"b{i}"] = rng.normal(size=DIM).astype(np.float32) * 0.3 - axis
        for k, prefix in enumerate("xyab"):
            sets[k].append(f"{prefix}{i}")
    return _space(vectors), sets


def test_weat_planted_bias_gives_large_effect_and_small_exact_p() -> None:
    space, (x, y, a, b) = _planted(bias=1.0)
    result = weat(space, x, y, a, b)
    assert result.effect_size is not None and result.effect_size > 1.5
    assert result.exact and result.partitions == math.comb(16, 8)
    # The observed partition is the most extreme one: p is its own 1 / C(16, 8).
    assert result.p_value == pytest.approx(1 / math.comb(16, 8))


def test_weat_symmetric_space_gives_no_effect() -> None:
    space, (x, y, a, b) = _planted(bias=1.0, copy_y_from_x=True)  # Y are copies of X
    result = weat(space, x, y, a, b)
    assert result.effect_size == pytest.approx(0.0, abs=1e-6)
    assert result.p_value is not None and result.p_value > 0.4


def test_random_permutations_are_seeded_and_bounded() -> None:
    rng = np.random.default_rng(3)
    sx, sy = rng.normal(0.5, 1, 30), rng.normal(0, 1, 30)
    p1, exact, count = permutation_p_value(sx, sy, exact_limit=10, permutations=10_000)
    p2, _, _ = permutation_p_value(sx, sy, exact_limit=10, permutations=10_000)
    assert not exact and count == 10_000
    assert p1 == p2 and 1 / 10_001 <= p1 <= 1


def test_missing_words_are_reported() -> None:
    space = WordSpace.default()
    result = weat(space, ["rose", "qzxwvk"], ["spider", "ant"], ["love"], ["death", "vqzkxw"])
    assert result.missing["X"] == ["qzxwvk"] and result.missing["B"] == ["vqzkxw"]
    assert result.used["X"] == ["rose"]
    empty = weat(space, ["qzxwvk"], ["ant"], ["love"], ["death"])
    assert empty.effect_size is None and not empty.valid


def test_glove_flowers_insects_sanity_check_is_large_and_positive() -> None:
    sets = load_word_sets()
    result = run_weat(WordSpace.default(), sets.weat_spec("flowers_insects"))
    assert result.effect_size is not None and result.effect_size > 0.8
    assert result.p_value is not None and result.p_value < 0.05
    assert "aster" in result.missing["flowers"]  # rare flower names are not in the top 10k


def test_debiasing_reduces_career_family_effect_and_neutralises() -> None:
    space = WordSpace.default()
    sets = load_word_sets()
    spec = sets.weat_spec("career_family_names")
    before = run_weat(space, spec)
    debiased = debias_space(space, sets)
    after = run_weat(debiased, spec)
    assert before.effect_size is not None and after.effect_size is not None
    assert before.effect_size > 1.0
    assert after.effect_size < before.effect_size
    g = debiased.info.direction
    doctor = debiased.vector("doctor")
    assert doctor is not None and abs(float(doctor @ g)) < 1e-5
    he, she = debiased.vector("he"), debiased.vector("she")
    assert he is not None and she is not None
    assert float(doctor @ he) == pytest.approx(float(doctor @ she), abs=1e-5)  # equalised
    assert debiased.space_id != space.space_id and debiased.dim == space.dim
    g0, _, _ = gender_direction(space, sets.definitional_pairs)
    assert float(space.vector("he") @ g0) > 0 > float(space.vector("she") @ g0)


@pytest.fixture
def labelled_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    photos = copy_sample(
        folder, classes=["face", "guitar", "soccer_ball", "sunflower"], per_class=3
    )
    with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "label"])
        for p in photos:
            writer.writerow([p.relative_to(folder).as_posix(), p.parent.name])
    return folder


def test_cli_writes_json_and_html(
    labelled_folder: Path,
    tmp_path: Path,
    tiny_encoder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from photosearch.cli import common, main

    monkeypatch.setattr(common, "load_encoder_from", lambda args: tiny_encoder)
    report = tmp_path / "audit.html"
    status = main(
        ["audit", "--photos", str(labelled_folder), "--debias", "--json", "--report", str(report)]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in data["weat"]["before"]]
    assert {"flowers_insects", "career_family_names", "math_arts_gender"} <= set(ids)
    assert data["weat"]["after"] is not None
    assert (
        "cousins"
        in data["weat"]["before"][ids.index("career_family_names")]["words_missing"]["family"]
    )
    assert data["photos"]["photos"] == 12 and data["photos"]["labelled"]
    assert data["photos"]["before"]["queries"] and data["photos"]["after"] is not None
    assert "before" in data["retrieval"] and "after" in data["retrieval"]
    assert (
        data["occupations"]["after"]["direct_bias"] < data["occupations"]["before"]["direct_bias"]
    )
    html = report.read_text(encoding="utf-8")
    for section in (
        "id='measured'",
        "id='weat'",
        "id='occupations'",
        "id='debias'",
        "id='photos'",
        "id='queries'",
        "id='tags'",
        "id='retrieval'",
        "id='limits'",
    ):
        assert section in html
    assert "<svg" in html and "data:image/jpeg;base64," in html
    assert "no gender labels" in html


def test_cli_text_summary_unlabelled_folder(
    tmp_path: Path,
    tiny_encoder,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from photosearch.cli import common, main

    copy_sample(tmp_path / "mine", classes=["cup"], per_class=2)
    monkeypatch.setattr(common, "load_encoder_from", lambda args: tiny_encoder)
    assert main(["audit", "--photos", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert "Word association tests" in out and "Photos: 2" in out
    assert "Retrieval P@10: skipped" in out and "Limits" in out


def test_cli_word_tests_only_and_bad_folder(capsys: pytest.CaptureFixture[str]) -> None:
    from photosearch.cli import main

    assert main(["audit", "--no-photos", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "photos" not in data and data["weat"]["before"]
    assert main(["audit", "--photos", "/nonexistent/folder"]) == 2
    assert "not a folder" in capsys.readouterr().err
