"""ONNX Runtime sessions as the camera worker runs its models: on the CPU, sharing the cores politely."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime as ort


def cpu_session(model: Path, *, threads: int = 1) -> ort.InferenceSession:
    """A CPU session for `model` with at most `threads` threads for one operator and none between them."""
    import onnxruntime as ort  # loaded with the first model, not with every importer of the vision code

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # The cores are shared with other workers: busy-waiting threads only slow everyone down.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
