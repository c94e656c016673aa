"""The image encoder and image decoding, with the real EfficientNet-Lite0 weights."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers import SAMPLE
from PIL import Image

from photosearch.core.vision.encoder import ModelNotFoundError
from photosearch.core.vision.imageio import ImageLoadError, open_image, open_image_with_info
from photosearch.core.vision.imagenet import class_names, imagenet_classes
from photosearch.core.vision.loader import load_encoder

# Sample classes that are ImageNet classes too, with the ImageNet labels that count as right.
IMAGENET_LABELS = {
    "pizza": {"pizza"},
    "strawberry": {"strawberry"},
    "soccer_ball": {"soccer ball"},
    "llama": {"llama"},
    "guitar": {"electric guitar", "acoustic guitar"},
    "panda": {"giant panda"},
    "dog": {"dalmatian"},
    "leopard": {"leopard", "jaguar", "cheetah", "snow leopard"},
    "umbrella": {"umbrella"},
    "laptop": {"laptop", "notebook"},
}


def test_real_model_classifies_bundled_photos(real_encoder):
    names = class_names()
    total = correct = 0
    for folder, expected in IMAGENET_LABELS.items():
        paths = sorted((SAMPLE / folder).glob("*.jpg"))
        probs = real_encoder.encode_paths(paths).probs
        top5 = np.argsort(-probs, axis=1)[:, :5]
        hits = sum(bool(expected & {names[i] for i in row}) for row in top5)
        # Caltech-101 has drawings and odd crops among the photos: most, not all, per class.
        assert hits >= 0.6 * len(paths), (folder, hits, len(paths))
        total += len(paths)
        correct += hits
    assert correct >= 0.85 * total, (correct, total)


def test_encoding_shapes_and_normalisation(real_encoder):
    enc = real_encoder.encode_paths(sorted((SAMPLE / "cup").glob("*.jpg"))[:3])
    assert enc.features.shape == (3, 1280) and enc.vectors.shape == (3, real_encoder.vector_dim)
    assert np.allclose(np.linalg.norm(enc.vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(enc.features, axis=1), 1, atol=1e-5)
    assert np.allclose(enc.probs.sum(axis=1), 1, atol=1e-4)
    assert real_encoder.model_id.startswith("efficientnet_lite0-")


def test_encoding_is_deterministic_and_batch_independent(real_encoder):
    paths = sorted((SAMPLE / "pizza").glob("*.jpg"))[:4]
    together = real_encoder.encode_paths(paths).vectors
    alone = np.concatenate([real_encoder.encode_paths([p]).vectors for p in paths])
    assert np.allclose(together, alone, atol=1e-4)


def test_imagenet_classes_resource():
    classes = imagenet_classes()
    assert len(classes) == 1000
    assert classes[0].wnid == "n01440764" and classes[0].name == "tench"
    assert classes[207].name == "golden retriever"


def test_unknown_or_absent_model_is_a_clear_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="never downloads"):
        load_encoder("resnet50")
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        load_encoder("no_such_net")


def _png_bytes(image: Image.Image, **kw) -> io.BytesIO:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    image.save(buf, "PNG", **kw)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    "mode, make",
    [
        ("L", lambda: Image.new("L", (40, 30), 200)),
        ("CMYK", lambda: Image.new("CMYK", (40, 30), (0, 255, 255, 0))),
        ("RGBA", lambda: Image.new("RGBA", (40, 30), (255, 0, 0, 0))),
        ("LA", lambda: Image.new("LA", (40, 30), (0, 0))),
        ("I;16", lambda: Image.fromarray(np.full((30, 40), 60000, np.uint16))),
        ("1", lambda: Image.new("1", (40, 30), 1)),
    ],
)
def test_every_mode_becomes_rgb(tmp_path, mode, make):
    image = make()
    path = tmp_path / f"img-{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
    image.save(path)
    out = open_image(path)
    assert out.mode == "RGB" and out.size == (40, 30)
    pixel = out.getpixel((5, 5))
    if mode in ("RGBA", "LA"):
        assert pixel == (255, 255, 255)  # fully transparent composites on white
    if mode == "CMYK":
        assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60  # cyan-free, magenta+yellow: red
    if mode == "I;16":
        assert pixel[0] > 200  # 16-bit scaled, not clipped to black


def test_palette_png_with_transparency_composites_on_white(tmp_path):
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    out = open_image(path)
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 1)) == (255, 0, 0)


def test_reduced_jpeg_decode_keeps_the_requested_side(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (10, 120, 200)).save(path, quality=85)
    image, info = open_image_with_info(path, min_side=256)
    assert min(image.size) >= 256 and max(image.size) <= 1000  # decoded at 1/8 or 1/4 scale
    assert (info.width, info.height) == (4000, 3000)  # the photo's real size is still reported


def test_unreadable_files_give_the_documented_error(tmp_path):
    with pytest.raises(ImageLoadError, match="file not found"):
        open_image(tmp_path / "nope.jpg")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(ImageLoadError, match="not an image"):
        open_image(tmp_path / "text.jpg")
    data = (SAMPLE / "dog" / "image_0001.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError, match="corrupt or truncated"):
        open_image(tmp_path / "cut.jpg")
    (tmp_path / "folder.jpg").mkdir()
    with pytest.raises(ImageLoadError):
        open_image(tmp_path / "folder.jpg")


def test_torchvision_model_loads_from_a_local_weights_file(tmp_path):
    """The torchvision path: a local .pth (here resnet18 with random weights, saved as a plain
    state dict) loads with weights_only and gives the same outputs as any model."""
    import torch
    from torchvision import models

    path = tmp_path / "resnet18-local.pth"
    torch.manual_seed(0)
    torch.save(models.resnet18(weights=None).state_dict(), path)
    encoder = load_encoder("resnet18", weights=path)
    assert encoder.feature_dim == 512 and encoder.model_id.startswith("resnet18-")
    enc = encoder.encode_paths(sorted((SAMPLE / "cup").glob("*.jpg"))[:2])
    assert enc.features.shape == (2, 512) and enc.probs.shape == (2, 1000)
    assert enc.vectors.shape == (2, encoder.vector_dim)
    assert np.allclose(np.linalg.norm(enc.vectors, axis=1), 1, atol=1e-5)
    with pytest.raises(ModelNotFoundError, match="does not match"):
        load_encoder("resnet50", weights=path)  # wrong architecture for the file
