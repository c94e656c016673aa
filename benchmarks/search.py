"""Search latency on synthetic libraries of 10k / 100k / 1M photos, in one run per size.

    .venv/bin/python benchmarks/search.py [--sizes 10000 100000 1000000] [--queries 30]

Libraries: random unit vectors in the real dimensions (visual 256, semantic 50 = GloVe 50d),
Zipf-like top-32 class ids with descending probabilities, written through the real store
(``write_embeddings`` in batches on the writer thread); built once and cached under
/tmp/photosearch-bench (the build time is printed when it happens, else the cached figure).

Per size:
* start-up: open the library and answer a first image query, without and with the matrix cache;
* the snapshot's RAM per photo (the bytes of its arrays / photos);
* image query, the real path: ``Searcher.similar_to_image`` on a photo outside the library
  (decode + encode with the real encoder, numpy scan, top-k, fetch paths from SQLite);
* text query, the real path: ``compile_query`` (parse + resolve words) + ``score_query`` over the
  library arrays + top-k + fetch paths;
* taught words: ``Words.teach`` (fit from 5 photos + store), and a taught-word query the way
  ``TextSearcher`` runs it, against the text query above;
* compiling a query the first time its words are met (no cached concept), once per run, over
  words that name classes and words that borrow from WordNet relatives (COMPILE_WORDS);
* baseline in the same run: sqlite-vec's own brute-force KNN
  (``SELECT photo_id, distance FROM vec_visual WHERE embedding MATCH ? AND k = ?``) for the same
  query vectors, against the numpy scan + top-k that the app uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import shutil
import time
from pathlib import Path

import _common
import numpy as np

from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.resources import sample_photos_dir
from photosearch.core.search.searcher import Searcher, top_k
from photosearch.core.vision.loader import load_encoder

TEXT_QUERIES = [
    "dog",
    "red car",
    "a cat on a sofa",
    "pizza",
    "sunflower",
    "airplane in the sky",
    "coffee cup",
    "butterfly on a flower",
    "crab on the beach",
    "old camera",
    "chair",
    "mobile phone",
]
# Met for the first time in a run: words that name classes, and words that name none and are
# placed through WordNet relatives or word-vector neighbours (the slower path).
COMPILE_WORDS = [
    "beaver",
    "shoes",
    "pants",
    "jacket",
    "dinosaur",
    "antelope",
    "turtle",
    "chair",
    "jug",
    "cup",
    "plane",
    "mouse",
    "sail",
    "wheel",
    "mayfly",
    "brontosaurus",
    "emu",
    "okapi",
    "ibis",
    "gramophone",
    "metronome",
    "minaret",
    "menorah",
    "stapler",
    "pigeon",
    "seahorse",
    "wheelchair",
    "handbag",
    "hedgehog",
    "sink",
    "toilet",
    "hoodie",
    "ladder",
    "comb",
    "razor",
    "charger",
    "sunset",
    "ocean",
    "snow",
]
COMPILE_TARGET_MS = 5
TARGETS = {  # (text ms, image ms) at this size
    100_000: (15, 100),
    1_000_000: (120, 350),
}
K = 20


def fmt(samples: list[float]) -> str:
    mean, p95 = _common.mean_p95(samples)
    return f"mean {mean * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def verdict(value_s: float, target_ms: float | None) -> str:
    if target_ms is None:
        return ""
    return f"  (target <= {target_ms} ms: {'MET' if value_s * 1000 <= target_ms else 'MISSED'})"


def taught_word_rows(library, index, searcher, snap, arrays, model, queries):  # type: ignore[no-untyped-def]
    """Teaching a word (fit + store) and querying it the way TextSearcher does (words read from
    the database, split from the query, its examples left out, scored with the zero-shot prior
    where WordNet knows the word, top-k, paths fetched). The words are removed again: the cached library stays as built."""
    from photosearch.core.teach.search import score_with_taught, split_taught
    from photosearch.core.teach.words import Words
    from photosearch.core.text.query import compile_query, parse_query, score_query

    words = Words(library, index)
    examples = [int(i) for i in snap.ids[:5]]
    rows: dict[str, list[float]] = {"teach (fit 5 photos + store):": []}
    for _ in range(5):
        t = time.perf_counter()
        words.teach("benchword", examples, replace=True)
        rows["teach (fit 5 photos + store):"].append(time.perf_counter() - t)
    words.teach("dog", examples)
    for label, word in (
        ("taught query, new word:", "benchword"),
        ("taught query, WordNet word:", "dog"),
    ):
        rows[label] = []
        for _ in range(queries):
            t = time.perf_counter()
            taught, rest = split_taught(parse_query(word), words.fitted())
            hide = np.isin(snap.ids, words.examples(word)[0])  # its examples leave the results
            scores, _, _ = score_with_taught(taught, rest, arrays, model)
            searcher.results(snap, scores, K, ~hide)
            rows[label].append(time.perf_counter() - t)
    rows["text query 'dog', same word:"] = []
    for _ in range(queries):
        t = time.perf_counter()
        searcher.results(snap, score_query(compile_query("dog", model), arrays), K)
        rows["text query 'dog', same word:"].append(time.perf_counter() - t)
    words.remove("benchword")
    words.remove("dog")
    return rows


def bench_compile(model) -> None:  # type: ignore[no-untyped-def]
    """Each of COMPILE_WORDS compiled once, the first time the model meets it."""
    from photosearch.core.text.query import compile_query

    compile_query("dog", model)  # loads the word vectors and WordNet
    times = []
    for word in COMPILE_WORDS:
        t = time.perf_counter()
        compile_query(word, model)
        times.append(time.perf_counter() - t)
    median = float(np.median(times)) * 1000
    print(
        f"   compile a query, words met for the first time ({len(times)}): {fmt(times)}, "
        f"median {median:.2f} ms, max {max(times) * 1000:.1f} ms"
        f"{verdict(_common.mean_p95(times)[1], COMPILE_TARGET_MS)}"
    )


def bench_size(n: int, queries: int, encoder, model, cache_root: Path) -> None:  # type: ignore[no-untyped-def]
    from photosearch.core.text.query import LibraryArrays, compile_query, score_query

    path, built = _common.synthetic_library(n)
    built = built if built is not None else _common.cached_build_seconds(n)
    size_mb = path.stat().st_size / 1e6
    print(
        f"\n-- {n:,} photos: database {size_mb:,.0f} MB, built through the store in "
        f"{built:.0f} s ({n / built:,.0f} photos/s)"
        if built
        else f"\n-- {n:,} photos"
    )
    photos = sorted(sample_photos_dir().rglob("*.jpg"))
    text_target, image_target = TARGETS.get(n, (None, None))

    # --- start-up: open + first query, without the matrix cache, then with it -----------------
    cache_dir = cache_root / f"cache-{n}"
    shutil.rmtree(cache_dir, ignore_errors=True)
    startup = {}
    for label in ("from SQLite (no cache file)", "from the mmap cache file"):
        gc.collect()
        rss0 = _common.rss_mb()
        t = time.perf_counter()
        library = Library(path)
        index = VectorIndex(library, cache_dir)
        searcher = Searcher(library, lambda: encoder, index=index)
        searcher.similar_to_image(photos[0], k=K)
        startup[label] = time.perf_counter() - t
        print(
            f"   start-up {label:30s}: open + first image query {startup[label]:6.2f} s "
            f"(RSS +{_common.rss_mb() - rss0:,.0f} MB)",
            flush=True,
        )
        index.flush()
        if label.startswith("from the mmap"):
            break
        library.close()
    assert index.loaded_from_cache, "second start did not use the cache file"
    print(
        f"   start-up ratio (SQLite / cache): "
        f"{startup['from SQLite (no cache file)'] / startup['from the mmap cache file']:.1f}x"
    )

    snap = index.snapshot()
    arrays_bytes = sum(
        getattr(snap, f.name).nbytes
        for f in dataclasses.fields(snap)
        if isinstance(getattr(snap, f.name), np.ndarray)
    )
    print(f"   snapshot RAM: {arrays_bytes / len(snap):,.0f} B per photo", flush=True)
    # --- image queries: real path ------------------------------------------------------------
    query_paths = [photos[(i * 37) % len(photos)] for i in range(queries)]
    image_times = []
    for p in query_paths:
        t = time.perf_counter()
        results = searcher.similar_to_image(p, k=K)
        image_times.append(time.perf_counter() - t)
        assert len(results) == K
    vectors = [encoder.encode_paths([p]).vectors[0] for p in query_paths[:10]]

    # --- scan only: numpy (the app) vs sqlite-vec brute force (baseline) ---------------------
    numpy_scan, vec_scan = [], []
    db = library.reader()
    for v in vectors:
        t = time.perf_counter()
        top_k(snap.visual @ v, K)
        numpy_scan.append(time.perf_counter() - t)
        t = time.perf_counter()
        db.query(
            "SELECT photo_id, distance FROM vec_visual WHERE embedding MATCH ? AND k = ?",
            (np.asarray(v, np.float32).tobytes(), K),
        )
        vec_scan.append(time.perf_counter() - t)
        if n >= 1_000_000 and len(vec_scan) >= 4:
            break
    # --- text queries: real path -------------------------------------------------------------
    arrays = LibraryArrays(snap.semantic, snap.top_ids, snap.top_probs, snap.visual)
    t = time.perf_counter()
    arrays.postings()
    postings_s = time.perf_counter() - t
    text_times, semantic_scan = [], []
    for i in range(queries):
        q = TEXT_QUERIES[i % len(TEXT_QUERIES)]
        t = time.perf_counter()
        compiled = compile_query(q, model)
        scores = score_query(compiled, arrays)
        searcher.results(snap, scores, K)
        text_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        top_k(snap.semantic @ compiled.vector, K)
        semantic_scan.append(time.perf_counter() - t)

    taught = taught_word_rows(library, index, searcher, snap, arrays, model, queries)

    print(
        f"   image query (encode + scan + fetch): {fmt(image_times)}"
        f"{verdict(_common.mean_p95(image_times)[1], image_target)}"
    )
    print(
        f"   text query (parse + score + fetch):  {fmt(text_times)}"
        f"{verdict(_common.mean_p95(text_times)[1], text_target)}"
        f"   (first text query also builds the class postings: {postings_s * 1000:.0f} ms)"
    )
    print(f"   scan+top-{K} visual, numpy:       {fmt(numpy_scan)}")
    print(
        f"   scan top-{K} visual, sqlite-vec:  {fmt(vec_scan)}   "
        f"-> numpy is {np.median(vec_scan) / np.median(numpy_scan):.1f}x faster"
    )
    print(f"   semantic-matrix scan+top-{K}:     {fmt(semantic_scan)}")
    for label, samples in taught.items():
        print(f"   {label:34s} {fmt(samples)}")
    taught_mean = _common.mean_p95(taught["taught query, WordNet word:"])[0]
    same_mean = _common.mean_p95(taught["text query 'dog', same word:"])[0]
    print(
        f"   taught 'dog' / text query 'dog': {taught_mean / same_mean:.2f}x; "
        f"taught 'dog' / mean text query: {taught_mean / _common.mean_p95(text_times)[0]:.2f}x"
    )
    image_mean = _common.mean_p95(image_times)[0]
    print(
        f"   image query vs (encode + sqlite-vec KNN): "
        f"{(image_mean - np.median(numpy_scan) + np.median(vec_scan)) / image_mean:.2f}x"
    )
    print(
        f"   RSS now {_common.rss_mb():,.0f} MB, peak {_common.peak_rss_mb():,.0f} MB", flush=True
    )
    library.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    from photosearch.core.text.semantic import default_model

    encoder = load_encoder()
    model = default_model()
    _common.header("search latency on synthetic libraries")
    cache_root = _common.BENCH_TMP / "caches"
    bench_compile(model)
    for n in args.sizes:
        bench_size(n, args.queries, encoder, model, cache_root)


if __name__ == "__main__":
    main()
