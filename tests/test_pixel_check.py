"""The pixel check that confirms near-duplicate candidates, on real photos and their edits."""

from __future__ import annotations

import io

from helpers import SAMPLE, VARIANTS, make_variant
from PIL import Image

from photosearch.core.vision.pixel_check import PIXEL_THRESHOLD, signature, signature_of, similarity

PHOTOS = [SAMPLE / "car" / "image_0001.jpg", SAMPLE / "flamingo" / "image_0017.jpg"]


def edited(image: Image.Image, kind: str) -> Image.Image:
    """An edited copy, saved as JPEG and read back as a user's copy would be."""
    copy, quality = make_variant(image, kind)
    buf = io.BytesIO()
    copy.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def test_edited_copies_look_alike():
    for path in PHOTOS:
        original = signature(path)
        assert original is not None
        image = Image.open(path).convert("RGB")
        for kind in VARIANTS:
            score = similarity(original, signature_of(edited(image, kind)))
            assert score >= PIXEL_THRESHOLD, (path.name, kind, score)


def test_distinct_photos_of_the_same_kind_do_not():
    # Side views of different cars: the search vectors put them close, the pixels do not.
    cars = sorted((SAMPLE / "car").glob("*.jpg"))
    sigs = [signature(p) for p in cars]
    scores = [similarity(a, b) for k, a in enumerate(sigs) for b in sigs[k + 1 :]]
    assert max(scores) < PIXEL_THRESHOLD
    assert similarity(sigs[0], sigs[0]) > 0.999


def test_unreadable_files_have_no_signature(tmp_path):
    (tmp_path / "x.jpg").write_text("not a photo")
    assert signature(tmp_path / "x.jpg") is None
    assert signature(tmp_path / "missing.jpg") is None
