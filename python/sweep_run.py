"""The command side of sweep's training-command protocol, in plain Python.

An experiment file can have a run trained by a program of its own::

    worker: {command: [python3, train.py], code: [train.py]}

sweep then prepares the run folder, starts the command there and, once it
exits 0, computes every metric from the predictions it wrote. This module is
everything such a script needs to take part (NumPy is its only dependency)::

    import sweep_run

    run = sweep_run.start()                      # reads $SWEEP_INPUTS
    x_train, y_train = run.arrays("train")       # uint8 (n, h, w, c), (n, label_width)
    x_val, y_val = run.arrays("val")
    x_test, _ = run.arrays("test")
    run.started(params=count_parameters(model))
    for epoch in range(1, run.epochs + 1):
        ...                                      # train with run.lr, run.batch_size, run.seed
        run.epoch(epoch, train_loss=tl, val_loss=vl, val_auc=auc)
    run.finish(val_probs, test_probs)            # (n, num_outputs) probabilities

The files, fields, events and exit codes are specified in docs/protocol.md,
so the protocol can be spoken from any language; this module is one
implementation of it, kept beside sweep and tested with it.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

PROTOCOL_VERSION = 1
SPLITS = ("train", "val", "test")

#: The exit code that tells sweep the command stopped because it was asked
#: to (SIGTERM) after saving what it needs to continue; any other non-zero
#: code is a failure, retried when sweep retries crashes.
INTERRUPTED_EXIT_CODE = 76


class ProtocolError(Exception):
    """The run folder or the outputs do not follow the protocol."""


def start(inputs_path: str | None = None) -> "Run":
    """The run sweep started this process for (`$SWEEP_INPUTS` by default)."""
    path = inputs_path or os.environ.get("SWEEP_INPUTS")
    if not path:
        raise ProtocolError(
            "SWEEP_INPUTS is not set: this script is meant to be started by sweep "
            "(a `worker:` command in an experiment file)"
        )
    with open(path, encoding="utf-8") as f:
        inputs = json.load(f)
    if inputs.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"{path}: protocol {inputs.get('protocol')!r}, this helper speaks {PROTOCOL_VERSION}"
        )
    return Run(inputs)


class Run:
    """One run: its settings, its data, and the outputs it owes sweep."""

    def __init__(self, inputs: dict):
        self.inputs = inputs
        #: The fully resolved run as sweep hashed it (`lr`, `seed`, `train`...).
        self.spec = inputs["run"]
        train = self.spec["train"]
        self.key = inputs["key"]
        self.run_dir = inputs["run_dir"]
        self.task = inputs["task"]
        self.num_outputs = int(inputs["num_outputs"])
        self.label_width = int(inputs["label_width"])
        self.lr = float(self.spec["lr"])
        self.seed = int(self.spec["seed"])
        self.epochs = int(train["epochs"])
        self.batch_size = int(train["batch_size"])
        self.threshold = float(train.get("threshold", 0.5))
        #: `cpu`, `cuda:0` (the GPU sweep gave this run), or `auto`.
        self.device = os.environ.get("SWEEP_DEVICE") or "auto"
        #: The CPU threads this run may use.
        self.threads = int(os.environ.get("SWEEP_THREADS") or 1)
        self._data = None
        self._history: list[dict] = []
        self._started = time.monotonic()
        self._last_epoch = self._started

    # ---- data ----------------------------------------------------------

    def indices(self, split: str) -> np.ndarray:
        """Pool indices of `split` (train, val or test)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        return np.asarray(self.inputs["indices"][split], dtype=np.int64)

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Images `(n, h, w, c)` uint8 and labels `(n, label_width)` uint8 of
        `split`, in the order sweep scores them."""
        idx = self.indices(split)
        data = self._open()
        images = self._take(data, "images", idx)
        if images.ndim == 3:
            images = images[..., None]
        labels = self._take(data, "labels", idx).reshape(len(idx), -1)
        return images, labels

    def _open(self):
        if self._data is None:
            self._data = np.load(self.inputs["data_file"])
        return self._data

    def _take(self, data, kind: str, idx: np.ndarray) -> np.ndarray:
        """Rows `idx` of the pool (train, val and test arrays end to end),
        read split by split without concatenating the file's arrays."""
        sizes = [int(n) for n in self.inputs["pool"]]
        bounds = np.cumsum([0] + sizes)
        if len(idx) and (idx.min() < 0 or idx.max() >= bounds[-1]):
            raise ProtocolError(f"an index is outside the pool of {bounds[-1]} samples")
        parts = [data[f"{name}_{kind}"] for name in SPLITS]
        out = np.empty((len(idx),) + parts[0].shape[1:], dtype=parts[0].dtype)
        for s, part in enumerate(parts):
            inside = (idx >= bounds[s]) & (idx < bounds[s + 1])
            if inside.any():
                out[inside] = part[idx[inside] - bounds[s]]
        return out

    # ---- progress ------------------------------------------------------

    def started(self, params: int = 0) -> None:
        """Tells sweep training starts (shown in its progress display)."""
        _emit(
            {
                "event": "started",
                "key": self.key,
                "device": self.device,
                "params": int(params),
                "train_samples": len(self.inputs["indices"]["train"]),
                "val_samples": len(self.inputs["indices"]["val"]),
                "epochs": self.epochs,
            }
        )

    def epoch(self, epoch: int, train_loss: float, val_loss: float, lr: float | None = None,
              **metrics: float) -> None:
        """Records one finished epoch (1-based) for `history.csv` and tells
        sweep. Extra keyword metrics (`val_auc=0.91`) become columns; the
        first of them is shown as the run's progress."""
        now = time.monotonic()
        row = {"epoch": int(epoch), "lr": self.lr if lr is None else float(lr),
               "train_loss": float(train_loss), "val_loss": float(val_loss)}
        row.update({name: float(v) for name, v in metrics.items()})
        self._history.append(row)
        monitor_name, monitor = next(iter(metrics.items()), ("val_loss", val_loss))
        _emit(
            {
                "event": "epoch",
                "epoch": int(epoch),
                "epochs": self.epochs,
                "lr": row["lr"],
                "train_loss": float(train_loss),
                "val_loss": float(val_loss),
                "monitor": float(monitor),
                "monitor_name": monitor_name,
                "seconds": now - self._last_epoch,
            }
        )
        self._last_epoch = now

    # ---- outputs -------------------------------------------------------

    def finish(self, val_probs, test_probs) -> None:
        """Writes the validation and test predictions (and `history.csv`
        when epochs were recorded). Probabilities, not logits: one column
        per output (`(n,)` is accepted for a binary task)."""
        outputs = self.inputs["outputs"]
        for split, probs, path in (
            ("val", val_probs, outputs["val_predictions"]),
            ("test", test_probs, outputs["test_predictions"]),
        ):
            _, labels = self.arrays(split)
            write_predictions(path, labels, self._checked(split, probs))
        if self._history:
            write_history(outputs["history"], self._history)

    def _checked(self, split: str, probs) -> np.ndarray:
        p = np.asarray(probs, dtype=np.float64)
        if p.ndim == 1:
            p = p[:, None]
        n = len(self.inputs["indices"][split])
        if p.shape != (n, self.num_outputs):
            raise ProtocolError(
                f"{split} predictions have shape {p.shape}; sweep expects "
                f"({n}, {self.num_outputs}): one row per sample of the split, "
                f"one column per output"
            )
        if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
            raise ProtocolError(
                f"{split} predictions must be probabilities in [0, 1]; apply a sigmoid "
                f"(binary, multi-label) or softmax (multi-class) to the logits"
            )
        return p


def write_predictions(path: str, labels: np.ndarray, probs: np.ndarray) -> None:
    """`index, y_0.., p_0..`, written atomically (temporary file, rename)."""
    labels = np.asarray(labels).reshape(len(probs), -1)
    header = ["index"] + [f"y_{j}" for j in range(labels.shape[1])]
    header += [f"p_{j}" for j in range(probs.shape[1])]
    lines = [",".join(header)]
    for i, (y, p) in enumerate(zip(labels, probs)):
        cells = [str(i)] + [str(int(v)) for v in y] + [repr(float(v)) for v in p]
        lines.append(",".join(cells))
    _write_atomic(path, "\n".join(lines) + "\n")


def write_history(path: str, rows: list[dict]) -> None:
    """One row per epoch; columns in the order first seen."""
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else repr(row[c]) for c in columns))
    _write_atomic(path, "\n".join(lines) + "\n")


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _emit(event: dict) -> None:
    # A non-finite number makes the line invalid JSON: sweep then keeps it in
    # the run's log instead of its progress display, which is all it costs.
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()
