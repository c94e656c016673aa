"""A self-contained HTML report of an audit result (inline SVG charts, base64 JPEG thumbnails)."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from photosearch.core.audit.svg import hbar_chart, histogram
from photosearch.core.audit.weat import format_d, format_p
from photosearch.core.vision.imageio import ImageLoadError, open_image

THUMB = 96

CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
.limits li { margin: 0.3em 0; }
.photos { display: flex; flex-wrap: wrap; gap: 10px; }
.photo { width: 150px; font-size: 0.8em; }
.photo img { display: block; max-width: 96px; max-height: 96px; border: 1px solid #ccc; }
.muted { color: #666; font-size: 0.9em; }
"""


def _thumb(path: Path) -> str | None:
    """A small base64 JPEG of a photo, or ``None`` if it cannot be read."""
    try:
        image = open_image(path, THUMB)
    except (ImageLoadError, OSError, ValueError):
        return None
    image = image.convert("RGB")
    image.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.0%}"


class _Photos:
    def __init__(self, folder: str | None) -> None:
        self.folder = Path(folder) if folder else None
        self.cache: dict[str, str | None] = {}

    def card(self, rel: str, caption: str) -> str:
        if rel not in self.cache:
            path = Path(rel)
            if self.folder is not None and not path.is_absolute():
                path = self.folder / rel
            self.cache[rel] = _thumb(path)
        data = self.cache[rel]
        img = (
            f'<img src="data:image/jpeg;base64,{data}" alt="{escape(rel)}">'
            if data
            else '<div class="muted">(no thumbnail)</div>'
        )
        return f'<div class="photo">{img}<div>{caption}</div></div>'


def render_html(result: dict) -> str:
    out: list[str] = []
    wv = result["word_vectors"]
    out.append("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    out.append(f"<title>photosearch bias audit — {escape(wv['name'])}</title>")
    out.append(f"<style>{CSS}</style></head><body>")
    out.append("<h1>photosearch bias audit</h1>")
    out.append(_section_measured(result))
    out.append(_section_weat(result))
    out.append(_section_occupations(result))
    if result.get("debias"):
        out.append(_section_debias(result))
    photos = result.get("photos")
    if photos:
        thumbs = _Photos(photos.get("folder"))
        out.append(_section_photos(photos, thumbs))
        out.append(_section_queries(photos, thumbs))
        out.append(_section_tags(photos, thumbs))
    if result.get("retrieval"):
        out.append(_section_retrieval(result["retrieval"]))
    out.append(_section_limits(result))
    out.append("</body></html>")
    return "\n".join(out)


def _section_measured(result: dict) -> str:
    wv = result["word_vectors"]
    gd = result["gender_direction"]
    settings = result["settings"]
    rows = [
        ("Word vectors", f"{wv['name']} — {wv['words']:,} words, {wv['dim']} dimensions"),
        ("Space id", wv["space_id"]),
        ("Photos audited", settings.get("photos") or "none (word tests only)"),
        ("Retrieval evaluated on", settings.get("eval_photos") or "—"),
        ("Hard debiasing", "yes (before/after shown)" if settings.get("debias") else "no"),
        (
            "Gender direction",
            f"PCA of {len(gd['pairs_used'])} definitional pairs; first component explains "
            f"{gd['variance_explained']:.0%} of their variance. Positive = male side.",
        ),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return (
        "<h2 id='measured'>What was measured</h2>"
        "<p>This report checks whether the word vectors photosearch uses for auto-tags and text "
        "search associate neutral concepts (careers, sciences, occupations, everyday objects) "
        "with one gender more than the other, and whether that shows up in the tags and search "
        "results for a folder of photos. It measures <b>associations in the vectors</b>, not "
        "harms, and the photos carry <b>no gender labels</b>; read the limits at the end.</p>"
        f"<table>{table}</table>"
    )


def _section_weat(result: dict) -> str:
    before = result["weat"]["before"]
    after = result["weat"].get("after")
    labels = [r["title"] for r in before]
    series = [("GloVe as shipped" if not after else "before", [r["effect_size"] for r in before])]
    if after:
        series.append(("hard-debiased", [r["effect_size"] for r in after]))
    chart = hbar_chart(
        labels,
        series,
        lo=-2.0,
        hi=2.0,
        annotations=[f"p={format_p(r['p_value'])}" for r in before],
        title="WEAT effect size d (positive = the stereotypical direction)",
        axis_label="effect size d (Cohen's d; |d| ≥ 0.8 is conventionally 'large')",
        label_width=300,
        width=860,
    )
    head = "<tr><th>Test</th><th>Targets × attributes</th><th>d</th><th>p (one-sided)</th>"
    if after:
        head += "<th>d debiased</th><th>p debiased</th>"
    head += "<th>words used / missing</th></tr>"
    body = []
    for i, r in enumerate(before):
        used = sum(len(v) for v in r["words_used"].values())
        missing = [w for ws in r["words_missing"].values() for w in ws]
        method = "exact" if r["p_value_exact"] else "random"
        cells = (
            f"<td>{escape(r['title'])}<div class='muted'>{escape(r['role'])}; "
            f"{escape(r['source'])}</div></td>"
            f"<td>{escape(' vs '.join(r['targets']))} × {escape(' vs '.join(r['attributes']))}</td>"
            f"<td class='num'>{format_d(r['effect_size'])}</td>"
            f"<td class='num'>{format_p(r['p_value'])}<div class='muted'>{method}, "
            f"{r['partitions']:,} partitions</div></td>"
        )
        if after:
            a = after[i]
            cells += (
                f"<td class='num'>{format_d(a['effect_size'])}</td>"
                f"<td class='num'>{format_p(a['p_value'])}</td>"
            )
        cells += (
            f"<td>{used} used; {len(missing)} missing"
            + (f"<div class='muted'>{escape(', '.join(missing))}</div>" if missing else "")
            + "</td>"
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        "<h2 id='weat'>Word association tests (WEAT)</h2>"
        "<p>Caliskan et al. (2017): for target sets X, Y (e.g. career vs family words) and "
        "attribute sets A, B (male vs female names), the effect size d compares how much closer "
        "(cosine) X words are to A than to B with the same for Y, in units of the pooled standard "
        "deviation. The p-value is the share of re-partitions of X∪Y that give at least the "
        "observed difference (exact when there are few). Only words the vectors hold are used. "
        "Flowers vs insects is a sanity check: a large positive d is expected there.</p>"
        f"{chart}<table>{head}{''.join(body)}</table>"
    )


def _section_occupations(result: dict) -> str:
    occ = result["occupations"]
    before = occ["before"]
    after = occ.get("after")
    words = list(before["projection"])
    series = [("before" if after else "projection", [before["projection"][w] for w in words])]
    if after:
        series.append(("hard-debiased", [after["projection"].get(w) for w in words]))
    chart = hbar_chart(
        words,
        series,
        title="Occupations projected on the gender direction (cosine with g)",
        axis_label="← female side (she, woman…)  ·  cos(word, g)  ·  male side (he, man…) →",
        label_width=130,
        width=720,
    )
    missing = before["missing"]
    text = (
        f"<p>DirectBias (Bolukbasi et al. 2016: mean |cos(w, g)| over these occupations): "
        f"<b>{before['direct_bias']:.3f}</b>"
        + (f", after debiasing <b>{after['direct_bias']:.3f}</b>" if after else "")
        + ". The projection is the per-word association score of Bolukbasi et al.; the table "
        "in the JSON also gives the WEAT-style score s(w, male terms, female terms).</p>"
    )
    if missing:
        text += f"<p class='muted'>Not in the vectors ({len(missing)}): {escape(', '.join(missing))}</p>"
    return f"<h2 id='occupations'>Occupations and gender</h2>{text}{chart}"


def _section_debias(result: dict) -> str:
    d = result["debias"]
    res = d["residual_clustering"]
    return (
        "<h2 id='debias'>Hard debiasing (optional, off by default)</h2>"
        "<p>Bolukbasi et al. (2016): the gender direction g is the first principal component of "
        f"the definitional pairs; {d['words_neutralised']:,} words that are not gender-specific "
        f"were neutralised (their component along g removed); {d['gender_specific_words_kept']} "
        f"gender-specific words were kept; {len(d['equalized_pairs'])} equality pairs were "
        "equalised (made symmetric about the neutral subspace).</p>"
        "<p class='note'>Residual bias (Gonen &amp; Goldberg 2019): the "
        f"{res['words_per_side']} most female- and most male-leaning neutral words (by their "
        "original projection) are clustered into two groups by k-means. Cluster/lean agreement: "
        f"<b>{res['accuracy_before']:.0%}</b> before, <b>{res['accuracy_after']:.0%}</b> after "
        "debiasing (50% would mean no gender information left). Debiasing removes the projection "
        "on g, not all gender information.</p>"
        f"<p class='muted'>Examples, female side: {escape(', '.join(res['examples_female_side']))}"
        f"; male side: {escape(', '.join(res['examples_male_side']))}</p>"
    )


def _photo_caption(row: dict) -> str:
    classes = ", ".join(f"{c} {p:.0%}" for c, p in row["top_classes"][:2])
    return (
        f"<b>{escape(row['photo'])}</b><br>lean {_pct(row['lean'])}<br>"
        f"<span class='muted'>{escape(classes)}<br>tags: {escape(', '.join(row['tags'][:5]))}"
        f"<br>nearest gendered word: {escape(row['nearest_gendered_word'])}</span>"
    )


def _section_photos(photos: dict, thumbs: _Photos) -> str:
    b = photos["before"]
    s = b["summary"]
    parts = [
        "<h2 id='photos'>Photos: lean of their semantic vectors</h2>",
        f"<p>{photos['photos']} photos in <code>{escape(photos['folder'])}</code>. Each photo's "
        "semantic vector (ConSE: the probability-weighted mean of its top ImageNet classes' word "
        "vectors) is projected on the gender direction. <b>Lean</b> is that projection as a share "
        "of the projection of the definitional words themselves (100% ≈ 'he', −100% ≈ 'she'; "
        f"the scale is {s['definitional_scale']:.3f}). The zero is the vocabulary's mean, since "
        "the vectors are mean-centred. That zero is a convention: the midpoint of the definitional "
        f"pairs (between 'she' and 'he', 'woman' and 'man'…) lies at {_pct(s['pair_midpoint_lean'])}, "
        "so compare classes and photos with each other rather than reading the sign of one "
        "photo's lean.</p>",
        "<p class='note'>The photos carry no gender labels: a lean is a position in the word space "
        "inherited from the words for the objects in the photo, not a statement about any person "
        "in it. For gender-neutral objects (a guitar, a chair) nothing in the content justifies a "
        "lean, so a consistent lean of a whole class comes from the word vectors.</p>",
        f"<p>Mean lean {_pct(s['mean_lean'])} (the 1000 ImageNet class vectors: "
        f"{_pct(s['imagenet_class_mean_lean'])}); median |lean| {s['median_abs_lean']:.0%}; "
        f"{s['share_over_25pct']:.0%} of photos beyond ±25%; {s['share_male_side']:.0%} on the "
        "male side.</p>",
        histogram(
            s["histogram"]["edges"],
            s["histogram"]["counts"],
            title="Distribution of photo lean",
            axis_label="← female side  ·  lean  ·  male side →",
            percent=True,
        ),
    ]
    if photos.get("after"):
        sa = photos["after"]["summary"]
        parts.append(
            f"<p>With hard-debiased vectors: mean lean {_pct(sa['mean_lean'])}, median |lean| "
            f"{sa['median_abs_lean']:.0%}, {sa['share_over_25pct']:.0%} beyond ±25% "
            "(by construction close to zero: the class names are neutralised words).</p>"
        )
    if b["by_class"]:
        rows = b["by_class"]
        parts.append(
            hbar_chart(
                [r["label"] for r in rows],
                [("mean lean", [r["mean_lean"] for r in rows])],
                errors=[tuple(r["ci95"]) for r in rows],
                title="Mean lean per labelled class (bar) with 95% confidence interval (line)",
                axis_label="← female side  ·  mean lean  ·  male side →",
                percent=True,
                label_width=130,
            )
        )
    for key, title in (
        ("most_female_side", "Photos leaning most to the female side"),
        ("most_male_side", "Photos leaning most to the male side"),
    ):
        cards = "".join(thumbs.card(r["photo"], _photo_caption(r)) for r in b[key])
        parts.append(f"<h3>{title}</h3><div class='photos'>{cards}</div>")
    return "".join(parts)


def _section_queries(photos: dict, thumbs: _Photos) -> str:
    queries = [q for q in photos["before"]["queries"] if q.get("known")]
    unknown = [q["query"] for q in photos["before"]["queries"] if not q.get("known")]
    if not queries:
        return ""
    chart = hbar_chart(
        [q["query"] for q in queries],
        [("query lean", [q["query_lean"] for q in queries])],
        annotations=[
            f"{len(q['entered_only_through_gender_component'])} of 10 changed" for q in queries
        ],
        title="Neutral queries: lean of the query vector",
        axis_label="← female side  ·  lean  ·  male side →",
        percent=True,
        label_width=110,
    )
    rows = []
    for q in queries:
        entered = q["entered_only_through_gender_component"]
        cards = "".join(
            thumbs.card(e["photo"], f"{escape(e['photo'])}<br>lean {_pct(e['lean'])}")
            for e in entered[:5]
        )
        rows.append(
            f"<tr><td>{escape(q['query'])}</td><td class='num'>{_pct(q['query_lean'])}</td>"
            f"<td class='num'>{_pct(q['top10_mean_photo_lean'])}</td>"
            f"<td class='num'>{q['top10_overlap_without_gender_component']}/10</td>"
            f"<td><div class='photos'>{cards}</div></td></tr>"
        )
    return (
        "<h2 id='queries'>Text queries</h2>"
        "<p>For each neutral query, the lean of its word-space vector, the mean lean of its top-10 "
        "photos, and a counterfactual: the same query with the gender component removed from its "
        "vector. Photos in the top 10 only with that component are the ones the query pulls in "
        "through gender associations rather than through the classes it names (search scores "
        "mostly by classes, so many queries are unaffected).</p>"
        + chart
        + "<table><tr><th>query</th><th>query lean</th><th>top-10 mean photo lean</th>"
        "<th>top-10 kept without the gender component</th><th>photos there only through it</th>"
        "</tr>"
        + "".join(rows)
        + "</table>"
        + (
            f"<p class='muted'>Unknown to the vectors: {escape(', '.join(unknown))}</p>"
            if unknown
            else ""
        )
    )


def _section_tags(photos: dict, thumbs: _Photos) -> str:
    st = photos["before"]["sensitive_tags"]
    counts = ", ".join(f"{escape(k)}: {v}" for k, v in sorted(st["counts_by_group"].items()))
    inside = ", ".join(
        f"{escape(k)}: {v}" for k, v in sorted(st["counts_inside_longer_names"].items())
    )
    rows = []
    for p in st["photos"]:
        for h in p["hits"]:
            rows.append(
                f"<tr><td>{escape(p['photo'])}</td><td>{escape(h['tag'])}</td>"
                f"<td>{escape(h['group'])}</td><td>{escape(h['source'])}</td>"
                f"<td>{'yes' if h['standalone'] else 'in a longer name'}</td></tr>"
            )
    standalone = [
        (p, h)
        for p in st["photos"]
        for h in p["hits"]
        if h["standalone"] and h["group"] != "ambiguous_colour"
    ]
    cards = "".join(
        thumbs.card(
            p["photo"],
            f"{escape(p['photo'])}<br>tag <b>{escape(h['tag'])}</b> ({escape(h['source'])})",
        )
        for p, h in standalone[:12]
    )
    near = ", ".join(f"{escape(w)} ({n})" for w, n in st["near_miss_counts"].items())
    return (
        "<h2 id='tags'>Identity terms in auto-tags</h2>"
        "<p>Auto-tags (up to 8 per photo) were checked against a short list of words that name a "
        "gender, ethnicity or nationality, religion, sexual orientation, age group or disability "
        "(and, separately, colour words that can also be identity terms). The photos have no such "
        "labels, so any such tag is inferred — from an ImageNet class name ('African elephant'), a "
        "WordNet category, or a word near the photo's vector in the word space (the path where "
        "word-vector associations enter).</p>"
        f"<p>{st['photos_flagged']} photos flagged. The term as a tag of its own, by group: "
        f"{counts or 'none'}; inside a longer name such as a class name (usually not about "
        f"people: 'African elephant', 'window blind'): {inside or 'none'}.</p>"
        + (
            f"<h3>Identity terms as tags of their own</h3><div class='photos'>{cards}</div>"
            if cards
            else ""
        )
        + "<table><tr><th>photo</th><th>tag</th><th>group</th><th>source</th><th>the tag itself?</th>"
        "</tr>"
        + "".join(rows)
        + "</table>"
        + (
            f"<p class='muted'>Identity terms among the 20 vocabulary words nearest a photo's "
            f"vector, below the tag threshold (photos): {near}</p>"
            if near
            else ""
        )
    )


def _section_retrieval(retrieval: dict) -> str:
    if "skipped" in retrieval:
        return f"<h2 id='retrieval'>Retrieval quality</h2><p>Skipped: {escape(retrieval['skipped'])}</p>"
    b = retrieval["before"]
    a = retrieval.get("after")
    rows = (
        f"<tr><td>as shipped</td><td class='num'>{b['text_p_at_10']:.3f}</td>"
        f"<td class='num'>{b['text_map']:.3f}</td></tr>"
    )
    if a:
        rows += (
            f"<tr><td>hard-debiased</td><td class='num'>{a['text_p_at_10']:.3f}</td>"
            f"<td class='num'>{a['text_map']:.3f}</td></tr>"
        )
    return (
        "<h2 id='retrieval'>Retrieval quality (text → image)</h2>"
        f"<p>{retrieval['photos']} labelled photos in <code>{escape(retrieval['folder'])}</code>; "
        "one query per label; precision of the top 10 and mean average precision, with the app's "
        "scorer over ConSE vectors.</p>"
        f"<table><tr><th>vectors</th><th>P@10</th><th>mAP</th></tr>{rows}</table>"
    )


def _section_limits(result: dict) -> str:
    items = "".join(f"<li>{escape(x)}</li>" for x in result["limits"])
    sources = "".join(
        f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in result.get("sources", {}).items()
    )
    return (
        "<h2 id='limits'>Limits — read before drawing conclusions</h2>"
        f"<ul class='limits'>{items}</ul><h3>Word-list sources</h3><ul>{sources}</ul>"
        "<p class='muted'>Generated by <code>photosearch audit</code>; see docs/audit.md.</p>"
    )


def write_report(result: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(result), encoding="utf-8")
    return path
