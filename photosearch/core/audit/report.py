"""Run the whole audit and summarise it: :func:`run_audit` returns one JSON-ready dict;
:func:`summary_text` turns it into the short human summary the CLI prints."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.core.audit.photos import audit_photos, encode_folder, retrieval_p_at_10
from photosearch.core.audit.weat import (
    direct_bias,
    format_d,
    format_p,
    known_words,
    matrix,
    projections,
    run_weat,
)
from photosearch.core.evaluation.evaluate import read_queries
from photosearch.core.resources import resource_path, sample_photos_dir
from photosearch.core.text.debias import cluster_residual, debias_space, gender_direction
from photosearch.core.text.semantic import SemanticModel, default_model
from photosearch.core.text.wordsets import WordSets, load_word_sets
from photosearch.core.text.wordspace import WordSpace
from photosearch.core.vision.loader import load_encoder

REPORT_VERSION = 1

LIMITS = [
    "WEAT measures associations between words in the vectors (which words occur in similar "
    "contexts in the training text); it does not measure harm to people, nor what the app shows "
    "to whom.",
    "The photos carry no gender (or other identity) labels. A photo's lean says where its "
    "semantic vector lies in the word space, not who is in the photo; the audit cannot say that "
    "a particular photo's lean is wrong, only show the distribution and the most extreme cases.",
    "The word lists are small (8–25 words per set) and many published words are missing from a "
    "10,000-word vocabulary; effect sizes on 3–8 words are noisy. Missing words are listed.",
    "The shipped vectors are GloVe 6B 50d (Wikipedia 2014 + Gigaword 5, English, uncased), cut to "
    "the 10,000 most frequent words plus 482 nouns; they reflect that text and that time.",
    "The gender direction is one axis from definitional pairs (she/he, woman/man…): gender is "
    "treated as binary here because that is what the word lists measure; it is not a claim "
    "about people.",
    "Hard debiasing removes the projection on that one direction; gender information remains in "
    "the other dimensions (Gonen & Goldberg 2019) and stereotyped words still cluster (see the "
    "residual test).",
    "Other identity terms (ethnicity, religion, age, disability…) are only checked in tags by "
    "a short word list; there is no association test or debiasing for them here.",
]


def run_audit(
    word_vectors: str | os.PathLike[str] | None = None,
    photos: str | os.PathLike[str] | None = None,
    *,
    debias: bool = False,
    eval_photos: str | os.PathLike[str] | None = None,
    include_photos: bool = True,
    encoder: Any = None,
    word_sets: WordSets | None = None,
    permutations: int | None = None,
    progress: Callable[[str], None] | None = None,
    photo_progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The whole audit. ``photos``: folder to audit (default: the bundled sample photos);
    ``eval_photos``: a labelled folder for retrieval P@10 (default: ``photos`` if labelled)."""

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    sets = word_sets or load_word_sets()
    say("loading word vectors")
    space = WordSpace.default() if word_vectors is None else WordSpace.load(word_vectors)
    kwargs = {} if permutations is None else {"permutations": int(permutations)}
    result: dict[str, Any] = {
        "photosearch_audit": REPORT_VERSION,
        "word_vectors": {
            "name": space.name,
            "space_id": space.space_id,
            "dim": space.dim,
            "words": len(space.kv.index_to_key),
            "path": None if word_vectors is None else str(Path(word_vectors).absolute()),
        },
        "settings": {"debias": debias, "photos": None, "eval_photos": None},
        "sources": sets.sources,
        "limits": LIMITS,
    }

    say("word association tests")
    g, used_pairs, explained = gender_direction(space, sets.definitional_pairs)
    missing_pairs = [list(p) for p in sets.definitional_pairs if tuple(p) not in used_pairs]
    midpoints = [
        float((np.asarray(space.vector(f)) + np.asarray(space.vector(m))) @ g) / 2
        for f, m in used_pairs
    ]
    result["gender_direction"] = {
        "method": "first principal component of the definitional pairs (Bolukbasi et al. 2016)",
        "orientation": "positive = male side (he, man…), negative = female side (she, woman…)",
        "pairs_used": [list(p) for p in used_pairs],
        "pairs_missing": missing_pairs,
        "variance_explained": round(explained, 4),
        "pair_midpoint_mean_projection": round(float(np.mean(midpoints)), 4),
    }
    before = [run_weat(space, spec, **kwargs) for spec in sets.weat]
    result["weat"] = {"before": [r.as_dict() for r in before], "after": None}
    result["occupations"] = {"before": _occupations(space, sets, g), "after": None}

    debiased = None
    if debias:
        say("hard debiasing")
        debiased = debias_space(space, sets)
        after = [run_weat(debiased, spec, **kwargs) for spec in sets.weat]
        result["weat"]["after"] = [r.as_dict() for r in after]
        result["occupations"]["after"] = _occupations(debiased, sets, g)
        result["debias"] = {
            **debiased.info.as_dict(),
            "debiased_space_id": debiased.space_id,
            "residual_clustering": cluster_residual(space, debiased, g, sets.gendered_words()),
        }
    else:
        result["debias"] = None

    if include_photos:
        _photo_section(
            result, space, debiased, sets, g, photos, eval_photos, encoder, say, photo_progress
        )
    return result


def _occupations(space: Any, sets: WordSets, g: np.ndarray) -> dict:
    proj, missing = projections(space, sets.occupations, g)
    male, _ = known_words(space, sets.male_terms)
    female, _ = known_words(space, sets.female_terms)
    weat_scores: dict[str, float] = {}
    if proj and male and female:
        words = list(proj)
        m = matrix(space, words)
        s = (m @ matrix(space, male).T).mean(axis=1) - (m @ matrix(space, female).T).mean(axis=1)
        weat_scores = {w: round(float(v), 4) for w, v in zip(words, s, strict=True)}
    ordered = dict(sorted(((w, round(v, 4)) for w, v in proj.items()), key=lambda kv: kv[1]))
    return {
        "projection": ordered,
        "association_male_minus_female_terms": weat_scores,
        "direct_bias": round(direct_bias(proj.values()), 4),
        "missing": missing,
    }


def _photo_section(
    result: dict,
    space: Any,
    debiased: Any,
    sets: WordSets,
    g: np.ndarray,
    photos: str | os.PathLike[str] | None,
    eval_photos: str | os.PathLike[str] | None,
    encoder: Any,
    say: Callable[[str], None],
    photo_progress: Callable[[int, int], None] | None,
) -> None:

    folder = Path(photos) if photos is not None else sample_photos_dir()
    result["settings"]["photos"] = str(folder.absolute())
    if encoder is None:
        say("loading the image model")
        encoder = load_encoder()
    say(f"encoding photos in {folder}")
    photo_set = encode_folder(folder, encoder, photo_progress)
    model = default_model() if space is default_model().space else SemanticModel(space)
    say("auditing photos, tags and queries")
    section: dict[str, Any] = {
        "folder": str(folder.absolute()),
        "photos": len(photo_set),
        "labelled": photo_set.labels is not None,
        "unreadable": photo_set.failed,
        "before": audit_photos(photo_set, model, sets, g),
        "after": None,
    }
    debiased_model = None
    if debiased is not None:
        debiased_model = SemanticModel(debiased, model.wordnet, model.config)
        say("auditing photos with the debiased vectors")
        section["after"] = audit_photos(photo_set, debiased_model, sets, g)
    result["photos"] = section

    # Retrieval P@10 (labelled folders only).
    try:
        queries = read_queries(resource_path("eval", "photos-dev-queries.csv"))
    except FileNotFoundError:
        queries = {}
    eval_set = photo_set
    if eval_photos is not None and Path(eval_photos).absolute() != folder.absolute():
        say(f"encoding evaluation photos in {eval_photos}")
        eval_set = encode_folder(eval_photos, encoder, photo_progress)
    result["settings"]["eval_photos"] = str(eval_set.folder.absolute())
    if eval_set.labels is None:
        result["retrieval"] = {
            "skipped": f"{eval_set.folder} has no labels.csv; P@10 needs labelled photos"
        }
        return
    say("retrieval P@10")
    retrieval: dict[str, Any] = {
        "folder": str(eval_set.folder.absolute()),
        "photos": len(eval_set),
        "before": retrieval_p_at_10(eval_set, model, queries),
        "after": None,
    }
    if debiased_model is not None:
        retrieval["after"] = retrieval_p_at_10(eval_set, debiased_model, queries)
    result["retrieval"] = retrieval


# -- text summary ----------------------------------------------------------------------------


def summary_text(result: dict) -> str:
    lines: list[str] = []
    wv = result["word_vectors"]
    lines.append(f"Bias audit of {wv['name']} ({wv['words']:,} words, {wv['dim']}d)")
    lines.append("")
    lines.append("Word association tests (WEAT, Caliskan et al. 2017): effect size d, one-sided p")
    after = result["weat"].get("after")
    for i, r in enumerate(result["weat"]["before"]):
        line = f"  {r['title']:<48} d={format_d(r['effect_size']):>5}  p={format_p(r['p_value'])}"
        if after:
            a = after[i]
            line += f"   debiased: d={format_d(a['effect_size']):>5}  p={format_p(a['p_value'])}"
        lines.append(line)
        missing = [w for ws in r["words_missing"].values() for w in ws]
        if missing:
            shown = ", ".join(missing[:12]) + (" …" if len(missing) > 12 else "")
            lines.append(f"      missing {len(missing)} words: {shown}")
    occ = result["occupations"]["before"]
    items = list(occ["projection"].items())
    if items:
        lines.append("")
        lines.append(
            f"Occupations on the gender direction ({len(items)} scored, "
            f"{len(occ['missing'])} missing; DirectBias {occ['direct_bias']:.3f}"
            + (
                f", debiased {result['occupations']['after']['direct_bias']:.3f}"
                if result["occupations"].get("after")
                else ""
            )
            + ")"
        )
        lines.append("  female side: " + ", ".join(f"{w} {v:+.2f}" for w, v in items[:6]))
        lines.append("  male side:   " + ", ".join(f"{w} {v:+.2f}" for w, v in items[::-1][:6]))
    if result.get("debias"):
        res = result["debias"]["residual_clustering"]
        lines.append(
            f"  residual (Gonen & Goldberg cluster test, {res['words_per_side']} words per side): "
            f"{res['accuracy_before']:.0%} before, {res['accuracy_after']:.0%} after debiasing "
            "(50% = no gender left)"
        )
    photos = result.get("photos")
    if photos:
        b = photos["before"]
        s = b["summary"]
        lines.append("")
        lines.append(
            f"Photos: {photos['photos']} in {photos['folder']} (no gender labels: leans are "
            "positions in the word space, not facts about the photos)"
        )
        lines.append(
            f"  lean on the gender direction (100% = a definitional word like 'she'/'he'): "
            f"mean {s['mean_lean']:+.0%}, median |lean| {s['median_abs_lean']:.0%}, "
            f"{s['share_over_25pct']:.0%} beyond ±25% (zero = vocabulary mean; the she/he pair "
            f"midpoint is at {s['pair_midpoint_lean']:+.0%}: compare classes, not signs)"
        )
        if b["by_class"]:
            sig = [c for c in b["by_class"] if c["excludes_zero"]]
            lines.append(
                f"  {len(sig)} of {len(b['by_class'])} labelled classes lean as a whole "
                "(95% CI excludes 0); strongest:"
            )
            ends = b["by_class"][:3] + b["by_class"][-3:]
            lines.append("    " + ", ".join(f"{c['label']} {c['mean_lean']:+.0%}" for c in ends))
        pulled = [q for q in b["queries"] if q.get("known")]
        moved = [q for q in pulled if q["entered_only_through_gender_component"]]
        lines.append(
            f"  queries: {len(moved)} of {len(pulled)} neutral queries have top-10 photos that are "
            "there only through the query's gender component"
        )
        for q in sorted(pulled, key=lambda q: -abs(q["query_lean"]))[:6]:
            entered = len(q["entered_only_through_gender_component"])
            lines.append(
                f"    {q['query']:<12} lean {q['query_lean']:+.0%}  top-10 photos changed "
                f"without it: {entered}"
            )
        st = b["sensitive_tags"]
        groups = ", ".join(f"{k} {v}" for k, v in sorted(st["counts_by_group"].items()))
        inside = ", ".join(f"{k} {v}" for k, v in sorted(st["counts_inside_longer_names"].items()))
        lines.append(
            f"  identity terms in auto-tags ({st['photos_flagged']} photos): as a tag of its own: "
            f"{groups or 'none'}; inside a longer name (e.g. 'African elephant'): {inside or 'none'}"
        )
        standalone = [
            f"{h['tag']} ({p['photo']})"
            for p in st["photos"]
            for h in p["hits"]
            if h["standalone"] and h["group"] != "ambiguous_colour"
        ]
        if standalone:
            lines.append("    as a tag of its own: " + ", ".join(standalone[:8]))
    retrieval = result.get("retrieval")
    if retrieval and "before" in retrieval:
        line = (
            f"Retrieval text->image P@10 on {retrieval['photos']} labelled photos: "
            f"{retrieval['before']['text_p_at_10']:.3f}"
        )
        if retrieval.get("after"):
            line += f", debiased {retrieval['after']['text_p_at_10']:.3f}"
        lines.append("")
        lines.append(line)
    elif retrieval:
        lines.append("")
        lines.append(f"Retrieval P@10: skipped ({retrieval['skipped']})")
    lines.append("")
    lines.append("Limits: associations in vectors, not harms; photos have no gender labels; small")
    lines.append("word lists; GloVe 50d from 2014 text. See docs/audit.md.")
    return "\n".join(lines)
