#!/usr/bin/env python3
"""Build ``resources/wordnet/nouns.json.gz`` from the WordNet 3.0 database files.

Reads data.noun, index.noun, noun.exc and cntlist.rev directly (Debian package ``wordnet-base``
installs them in /usr/share/wordnet; no nltk needed) and writes the compact noun resource the app
uses at run time, so that the app never needs WordNet installed:

* every noun synset: its lemmas (lowercase, ``_`` as a space), the first content words of its
  gloss, its hypernyms (``@`` and instance ``@i``) and its tagged-sense frequency;
* the lexicon: lemma -> its synsets in WordNet's sense order, with the tagged counts of each sense;
* the irregular plurals of noun.exc;
* per synset, the number of synsets below it (for the intrinsic information content);
* the 1000 ImageNet classes (by synset), and for every synset that is a (reflexive) ancestor of
  at least one ImageNet class the list of those class indices.

Usage: python tools/build_wordnet_resource.py [--wordnet /usr/share/wordnet] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photosearch.core.text.stopwords import STOP_WORDS  # noqa: E402

GLOSS_WORDS = 12  # content words kept from each gloss

# ImageNet classes whose photos show another sense of the word than their WordNet id: the class
# is also placed under that sense. n04612504 "yawl" is WordNet's "ship's small boat rowed by
# oars", but ImageNet's yawl photos are two-masted sailing yachts (sense n04612373, a sailing
# vessel): without this, "sail" misses them and "boat -sail" ranks them first.
# Likewise n01514668 "cock" and n01514859 "hen" are WordNet's "adult male bird" and "adult female
# bird", but ImageNet's photos of them are domestic chickens (a rooster, a hen): they are also
# placed under "cock, rooster: adult male chicken" (n01792158) and "hen, biddy: adult female
# chicken" (n01792640), so that "rooster" and "chicken" name them.
EXTRA_SENSES = {4612504: [4612373], 1514668: [1792158], 1514859: [1792640]}
WORD_RE = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def parse_data_noun(path: Path) -> dict[int, dict]:
    """offset -> {lemmas, lexids, lexfile, hypernyms, gloss}."""
    synsets: dict[int, dict] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            offset = int(fields[0])
            lexfile = int(fields[1])
            count = int(fields[3], 16)
            lemmas, lexids = [], []
            for i in range(count):
                word = fields[4 + 2 * i]
                word = re.sub(r"\([a-z]+\)$", "", word)  # adjective markers never occur in nouns
                lemmas.append(word)
                lexids.append(int(fields[5 + 2 * i], 16))
            pos = 4 + 2 * count
            pointer_count = int(fields[pos])
            hypernyms = []
            wholes = []
            for i in range(pointer_count):
                symbol, target, target_pos = fields[pos + 1 + 4 * i : pos + 4 + 4 * i]
                if symbol in ("@", "@i") and target_pos == "n":
                    hypernyms.append(int(target))
                elif symbol == "#p" and target_pos == "n":  # part holonym: a sail is part of...
                    wholes.append(int(target))
            synsets[offset] = {
                "lemmas": lemmas,
                "lexids": lexids,
                "lexfile": lexfile,
                "hypernyms": hypernyms,
                "wholes": wholes,
                "gloss": gloss.strip(),
            }
    return synsets


def parse_index_noun(path: Path) -> dict[str, list[int]]:
    """lemma (WordNet spelling, ``_`` for spaces) -> synset offsets in sense order."""
    lexicon: dict[str, list[int]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma = fields[0]
            synset_count = int(fields[2])
            pointer_count = int(fields[3])
            offsets = fields[4 + pointer_count + 2 :]
            assert len(offsets) == synset_count, line
            lexicon[lemma] = [int(o) for o in offsets]
    return lexicon


def parse_exceptions(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                out.setdefault(parts[0].replace("_", " "), parts[1].replace("_", " "))
    return out


def parse_counts(path: Path) -> dict[str, int]:
    """Noun sense key (``lemma%1:lexfile:lexid::``) -> tagged frequency in SemCor."""
    out: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and "%1:" in parts[0]:
                out[parts[0]] = int(parts[2])
    return out


def gloss_words(gloss: str) -> list[str]:
    """The definition's content words in order (examples in quotes dropped), without repeats."""
    definition = gloss.split('"', 1)[0]
    words: list[str] = []
    for word in WORD_RE.findall(definition.lower()):
        if word in STOP_WORDS or len(word) < 3 or word in words:
            continue
        words.append(word)
        if len(words) == GLOSS_WORDS:
            break
    return words


def read_imagenet(path: Path) -> list[int]:
    offsets = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            _, wnid, _ = line.rstrip("\n").split("\t")
            offsets.append(int(wnid[1:]))
    return offsets


def build(wordnet: Path, imagenet_tsv: Path) -> dict:
    synsets = parse_data_noun(wordnet / "data.noun")
    index = parse_index_noun(wordnet / "index.noun")
    exceptions = parse_exceptions(wordnet / "noun.exc")
    counts = parse_counts(wordnet / "cntlist.rev")
    classes = read_imagenet(imagenet_tsv)
    missing = [o for o in classes if o not in synsets]
    if missing:
        raise SystemExit(
            f"{len(missing)} ImageNet synsets missing from data.noun, e.g. {missing[:3]}"
        )

    order = sorted(synsets)
    position = {offset: i for i, offset in enumerate(order)}

    # Tagged frequency per (lemma, synset) from the sense keys.
    def sense_count(lemma: str, offset: int) -> int:
        s = synsets[offset]
        for word, lexid in zip(s["lemmas"], s["lexids"], strict=True):
            if word.lower() == lemma:
                key = f"{lemma}%1:{s['lexfile']:02d}:{lexid:02d}::"
                return counts.get(key, 0)
        return 0

    lexicon: dict[str, list[list[int]]] = {}
    for lemma, offsets in index.items():
        lexicon[lemma.replace("_", " ")] = [
            [position[o], sense_count(lemma, o)] for o in offsets if o in position
        ]

    # Reflexive ancestors of each ImageNet class.
    descendants: dict[int, set[int]] = {}
    for class_index, offset in enumerate(classes):
        stack, seen = [offset, *EXTRA_SENSES.get(offset, [])], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            descendants.setdefault(position[node], set()).add(class_index)
            stack.extend(synsets[node]["hypernyms"])

    # Parts of things that have ImageNet classes below them ("sail" -> sailing vessel): a query
    # naming a part can then find the wholes.
    part_of = {
        str(position[offset]): sorted(
            position[w] for w in s["wholes"] if w in position and position[w] in descendants
        )
        for offset, s in synsets.items()
        if offset in position
    }
    part_of = {k: v for k, v in part_of.items() if v}

    # Hyponyms of each synset (distinct, all levels, instances too): the intrinsic information
    # content of Seco et al. (2004) is computed from them at run time.
    hyponyms = [0] * len(order)
    for offset in order:
        stack, seen = list(synsets[offset]["hypernyms"]), set()
        while stack:
            node = stack.pop()
            if node in seen or node not in position:
                continue
            seen.add(node)
            hyponyms[position[node]] += 1
            stack.extend(synsets[node]["hypernyms"])

    synset_lines = []
    for offset in order:
        s = synsets[offset]
        count = sum(sense_count(w.lower(), offset) for w in s["lemmas"])
        lemmas = "|".join(w.replace("_", " ") for w in s["lemmas"])
        hypernyms = ",".join(str(position[h]) for h in s["hypernyms"] if h in position)
        gloss = " ".join(gloss_words(s["gloss"]))
        synset_lines.append(f"{offset}\t{count}\t{lemmas}\t{hypernyms}\t{gloss}")
    lemma_keys = sorted(lexicon)
    return {
        "format": "photosearch-wordnet-nouns",
        "version": 1,
        "source": "WordNet 3.0 (Princeton University), data.noun/index.noun/noun.exc/cntlist.rev",
        # One line per synset: offset, tagged count, lemmas (|), hypernym rows (,), gloss words.
        "synsets": "\n".join(synset_lines),
        # Sorted lemmas, and aligned with them "row:count,row:count" in WordNet's sense order.
        "lexicon_keys": "\n".join(lemma_keys),
        "lexicon_senses": "\n".join(
            ",".join(f"{row}:{cnt}" for row, cnt in lexicon[k]) for k in lemma_keys
        ),
        "exceptions": "\n".join(f"{k}\t{v}" for k, v in sorted(exceptions.items())),
        "classes": [position[o] for o in classes],
        "descendants": {str(k): sorted(v) for k, v in sorted(descendants.items())},
        # Part holonyms that have ImageNet classes below them: part row -> whole rows.
        "part_of": dict(sorted(part_of.items(), key=lambda kv: int(kv[0]))),
        # Per synset row, how many synsets lie below it (hyponyms at any depth).
        "hyponym_counts": ",".join(str(n) for n in hyponyms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument(
        "--imagenet", type=Path, default=ROOT / "resources" / "imagenet_classes.tsv"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "wordnet")
    args = parser.parse_args(argv)
    data = build(args.wordnet, args.imagenet)
    order = data["synsets"].split("\n")
    args.out.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
    target = args.out / "nouns.json.gz"
    # mtime=0 keeps the output byte-for-byte reproducible.
    with (
        open(target, "wb") as f,
        gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9) as gz,
    ):
        gz.write(raw)
    print(
        f"wrote {target}: {len(order)} synsets, {data['lexicon_keys'].count(chr(10)) + 1} lemmas, "
        f"{len(data['descendants'])} ImageNet ancestors, {target.stat().st_size / 1e6:.2f} MB, "
        f"sha256 {hashlib.sha256(target.read_bytes()).hexdigest()[:12]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
