"""The image model, loaded once in the background.

The window appears before torch is imported: :class:`ModelService` imports and loads the encoder
on its own worker. Workers that need it call :meth:`ModelService.get`, which waits for the load;
the GUI shows "Loading the image model…" meanwhile (``state_changed``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from photosearch.gui.qt import QObject, Signal
from photosearch.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

EncoderFactory = Callable[[str], Any]


def load_encoder_by_name(name: str) -> Any:
    # Torch-free when the converted model is cached; imports torch otherwise: workers only.
    # lazy: the encoders' modules (~65 ms) load on the model-loader thread, after first paint
    from photosearch.core.vision.loader import load_encoder

    return load_encoder(name)


class ModelService(QObject):
    """Loads the encoder on a worker; ``get()`` blocks a worker until it is there."""

    state_changed = Signal(str)  # "idle" | "loading" | "ready" | "failed"

    def __init__(
        self,
        model_name: str,
        factory: EncoderFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model_name = model_name
        self._factory = factory or load_encoder_by_name
        self._runner = TaskRunner(1, "model-loader", self)
        self._event = threading.Event()
        self._encoder: Any = None
        self._error: BaseException | None = None
        self.state = "idle"

    def start(self) -> None:
        if self.state in ("loading", "ready"):
            return
        self._event.clear()
        self._error = None
        self._set_state("loading")
        name = self.model_name
        self._runner.run(lambda: self._load(name), self._loaded, self._load_failed)

    def _load(self, name: str) -> Any:
        try:
            self._encoder = self._factory(name)
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._event.set()
        return self._encoder

    def _loaded(self, _encoder: object) -> None:
        self._set_state("ready")

    def _load_failed(self, exc: BaseException) -> None:
        log.error("cannot load the image model %s: %s", self.model_name, exc)
        self._set_state("failed")

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def error(self) -> BaseException | None:
        return self._error

    def describe(self) -> str:
        """What runs the image model, for the About box and bug reports."""
        if self.state != "ready" or self._encoder is None:
            return {"loading": "loading…", "failed": "could not be loaded"}.get(
                self.state, "not loaded yet"
            )
        encoder = self._encoder
        backend = getattr(encoder, "backend", "torch")
        device = str(getattr(encoder, "device", "cpu"))
        runner = "OpenVINO on the CPU" if backend == "openvino" else f"PyTorch on {device}"
        return f"{getattr(encoder, 'name', self.model_name)}, {runner}"

    def get(self, timeout: float | None = None) -> Any:
        """The encoder; waits for the background load. Call from workers only."""
        if self.state == "idle":
            raise RuntimeError("the image model was never asked to load")
        if not self._event.wait(timeout):
            raise TimeoutError("the image model is still loading")
        if self._error is not None:
            raise RuntimeError(f"the image model could not be loaded: {self._error}")
        return self._encoder

    def shutdown(self) -> None:
        self._runner.shutdown()
