"""Training the DeViSE-style projection (Frome et al. 2013) of :mod:`photosearch.core.text.projection`.

``photosearch train DIR --out FILE`` runs :func:`train_from_folder`. Training needs torch and the
labelled photos; the app itself only loads the trained file, so this sits outside the runtime.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from photosearch.core.evaluation.evaluate import read_labels
from photosearch.core.text.embedder import top_k
from photosearch.core.text.projection import Projection, ProjectionError
from photosearch.core.text.query import compile_query
from photosearch.core.text.semantic import SemanticModel, default_model
from photosearch.core.text.wordspace import normalize
from photosearch.core.vision.loader import load_encoder

if TYPE_CHECKING:
    from photosearch.core.vision.encoder import ImageEncoder
    from photosearch.core.vision.lean_encoder import LeanEncoder


@dataclass
class TrainResult:
    projection: Projection
    losses: list[float]  # training loss per epoch (the chosen loss)


def label_targets(
    labels: Sequence[str], model: SemanticModel, queries: dict[str, str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Distinct labels (sorted) and their (m, dim) word-space target vectors."""
    names = sorted(set(labels))
    targets = []
    for name in names:
        text = (queries or {}).get(name, name.replace("_", " "))
        compiled = compile_query(text, model)  # raises UnknownQueryError for an unknown label
        targets.append(normalize(compiled.vector))
    return names, np.stack(targets).astype(np.float32)


def train_projection(
    features: np.ndarray,
    labels: Sequence[str],
    model: SemanticModel | None = None,
    *,
    top_ids: np.ndarray | None = None,
    top_probs: np.ndarray | None = None,
    loss: str = "rank",
    epochs: int = 60,
    margin: float = 0.2,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    anchor: float = 1.0,
    prototypes: np.ndarray | None = None,
    seed: int = 0,
    queries: dict[str, str] | None = None,
    mix: float = 1.0,
    progress: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Learn the projection. ``top_ids``/``top_probs`` (the photos' top classes) give the ConSE
    starting point; without them M starts at zero-mean noise. Deterministic for a given seed."""
    import torch  # lazy: only training needs torch (~1.3 s, ~500 MB to import)

    if loss not in ("rank", "cosine"):
        raise ProjectionError("loss must be 'rank' or 'cosine'")
    model = model or default_model()
    x = np.asarray(features, np.float32)
    if len(x) != len(labels) or len(x) == 0:
        raise ProjectionError("need one label per photo, and at least one photo")
    names, targets = label_targets(labels, model, queries)
    if loss == "rank" and len(names) < 2:
        raise ProjectionError("the ranking loss needs photos of at least two labels")
    index = {name: i for i, name in enumerate(names)}
    y = np.asarray([index[label] for label in labels], np.int64)

    generator = torch.Generator().manual_seed(seed)
    if (top_ids is not None and top_probs is not None) or prototypes is not None:
        xs, ts = [], []
        if top_ids is not None and top_probs is not None:
            xs.append(x)
            ts.append(model.conse(np.asarray(top_ids, np.intp), np.asarray(top_probs, np.float32)))
        if prototypes is not None:
            # The classifier's weight rows are each class's direction in feature space: 1000
            # more (feature, class vector) pairs that keep the map general.
            xs.append(normalize(np.asarray(prototypes, np.float32)))
            ts.append(model.class_vectors)
        xa = np.concatenate(xs).astype(np.float64)
        ta = np.concatenate(ts).astype(np.float64)
        ridge = 1e-2 * np.eye(x.shape[1], dtype=np.float64)
        init = np.linalg.solve(xa.T @ xa + ridge, xa.T @ ta)
        weight = torch.tensor(init, dtype=torch.float32)
    else:
        weight = torch.randn(x.shape[1], model.dim, generator=generator) * 0.01
    start_weight = weight.clone()
    weight.requires_grad_(True)
    xt = torch.from_numpy(x)
    tt = torch.from_numpy(targets)
    yt = torch.from_numpy(y)
    optimiser = torch.optim.Adam([weight], lr=lr, weight_decay=weight_decay)
    losses: list[float] = []
    batch = 64
    with torch.enable_grad():
        for epoch in range(epochs):
            order = torch.randperm(len(xt), generator=generator)
            total = 0.0
            for begin in range(0, len(order), batch):
                idx = order[begin : begin + batch]
                value = _loss(xt[idx] @ weight, tt, yt[idx], loss, margin)
                objective = value + anchor * ((weight - start_weight) ** 2).sum()
                optimiser.zero_grad()
                objective.backward()
                optimiser.step()
                total += float(value.detach()) * len(idx)
            losses.append(total / len(xt))
            if progress is not None:
                progress(epoch, losses[-1])
    meta = {
        "loss": loss,
        "labels": names,
        "photos": len(x),
        "epochs": epochs,
        "final_loss": losses[-1] if losses else None,
    }
    matrix = weight.detach().numpy().astype(np.float32)
    return TrainResult(Projection(matrix, model.space_id, mix, meta), losses)


def _loss(projected, targets, y, kind: str, margin: float):  # type: ignore[no-untyped-def]
    import torch  # lazy: only training needs torch (~1.3 s, ~500 MB to import)

    p = torch.nn.functional.normalize(projected, dim=1)
    sims = p @ targets.T  # (b, labels)
    true = sims.gather(1, y[:, None])
    if kind == "cosine":
        return (1.0 - true).mean()
    hinge = torch.clamp(margin - true + sims, min=0.0)
    mask = torch.ones_like(hinge).scatter_(1, y[:, None], 0.0)
    return (hinge * mask).sum(dim=1).mean()


def loss_value(
    projection: Projection, features: np.ndarray, labels: Sequence[str], model: SemanticModel,
    kind: str = "rank", margin: float = 0.2,
) -> float:  # fmt: skip
    """The loss of a projection on labelled features (for tests and reports)."""
    import torch  # lazy: only training needs torch (~1.3 s, ~500 MB to import)

    names, targets = label_targets(labels, model)
    index = {name: i for i, name in enumerate(names)}
    y = torch.tensor([index[label] for label in labels])
    with torch.no_grad():
        projected = torch.from_numpy(np.asarray(features, np.float32) @ projection.matrix)
        return float(_loss(projected, torch.from_numpy(targets), y, kind, margin))


def train_from_folder(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    encoder: ImageEncoder | LeanEncoder | None = None,
    model: SemanticModel | None = None,
    loss: str = "rank",
    epochs: int = 60,
    batch_size: int = 32,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """``photosearch train DIR --out FILE``: encode the labelled photos of a folder (sub-folder =
    label, or labels.csv), train, save. Unreadable photos are skipped."""
    paths, labels, queries = read_labels(folder)
    if not paths:
        raise ProjectionError(f"no labelled photos in {folder}")
    encoder = encoder or load_encoder()
    model = model or default_model()
    feats, probs, kept = [], [], []
    for begin in range(0, len(paths), batch_size):
        chunk = list(range(begin, min(begin + batch_size, len(paths))))
        try:
            enc = encoder.encode_paths([paths[i] for i in chunk])
            feats.append(enc.vectors)  # the 256-d search vectors the store keeps
            probs.append(enc.probs)
            kept += chunk
        except Exception:  # one bad file: fall back to one by one
            for i in chunk:
                try:
                    enc = encoder.encode_paths([paths[i]])
                except Exception:
                    continue
                feats.append(enc.vectors)
                probs.append(enc.probs)
                kept.append(i)
        if progress:
            progress(f"encoded {min(begin + batch_size, len(paths))}/{len(paths)}")
    features = np.concatenate(feats)
    ids, top = top_k(np.concatenate(probs))
    result = train_projection(
        features,
        [labels[i] for i in kept],
        model,
        top_ids=ids,
        top_probs=top,
        loss=loss,
        epochs=epochs,
        queries=queries,
        prototypes=getattr(encoder, "classifier_prototypes", None),
    )
    result.projection.meta["encoder"] = getattr(encoder, "model_id", "")
    result.projection.save(out)
    return result
