"""What the two PyTorch references share, so they differ only in the part
being compared (how batches reach the model): command line, data (a MedMNIST
.npz or a generated ChestMNIST-shaped set), sweep's `subset` rule, the task
and its loss, the validation metrics sweep reports, and the JSON result line.

Also a tiny command line of its own, used by scripts/bench to write the
generated set as a chestmnist.npz that `sweep run` can read:

    python bench/common.py generate chest OUT.npz
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")

# ChestMNIST's official split sizes and (approximate) per-label prevalence in
# its train split, so the generated set costs what the real one costs and has
# its label imbalance (Hernia at 0.2 %, Infiltration at 18 %).
CHEST_SIZES = {"train": 78_468, "val": 11_219, "test": 22_433}
CHEST_PREVALENCE = np.array(
    [0.102, 0.025, 0.118, 0.177, 0.051, 0.056, 0.012, 0.047, 0.042, 0.022, 0.023, 0.015, 0.029, 0.002]
)
GENERATOR_SEED = 0  # fixed, like sweep's SYNTHETIC_SEED: --seed varies training, not data


def parse_args(description, memory_format="contiguous", extra=None):
    """The options both references take (scripts/bench passes the same to
    both); `memory_format` is the script's default layout; `extra(parser)`
    adds a script's own options."""
    p = argparse.ArgumentParser(description=description)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="MedMNIST .npz (train/val/test _images and _labels)")
    src.add_argument("--generate", choices=["chest"], help="generated ChestMNIST-shaped set")
    p.add_argument("--limit", type=int, help="cap train samples (val in proportion, as sweep's subset)")
    p.add_argument("--arch", default="chest_cnn")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-batch-size", type=int, default=1024, help="sweep's eval_batch_size")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--input-channels", type=int, help="replicate grey images to this many channels")
    p.add_argument("--num-classes", type=int, help="override the class count inferred from labels")
    p.add_argument(
        "--input-size",
        type=int,
        help="resize every batch to this side, bilinearly on the device (sweep's input_size)",
    )
    p.add_argument(
        "--init",
        choices=["sweep", "pytorch"],
        default="sweep",
        help="initial weights: as sweep's tch models (default, so val metrics compare) or PyTorch's",
    )
    p.add_argument(
        "--memory-format",
        choices=["contiguous", "channels_last"],
        default=memory_format,
        help=f"layout of images and conv weights (default {memory_format}; sweep uses channels_last)",
    )
    if extra:
        extra(p)
    return p.parse_args()


def build_model(args, in_channels, num_outputs, image_size):
    """The benchmarked model, initialised as --init says, laid out as
    --memory-format says."""
    import models
    import torch

    size = getattr(args, "input_size", None) or image_size
    model = models.build(args.arch, in_channels, num_outputs, size)
    model = models.init_like_tch(model) if args.init == "sweep" else model
    if args.memory_format == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    return model


def layout(batch, args):
    """A float (N, C, H, W) batch, resized to --input-size as sweep's data.rs
    does (bilinear, corners not aligned), in the --memory-format layout."""
    import torch

    size = getattr(args, "input_size", None)
    if size and tuple(batch.shape[-2:]) != (size, size):
        batch = torch.nn.functional.interpolate(
            batch, size=(size, size), mode="bilinear", align_corners=False
        )
    if args.memory_format == "channels_last":
        return batch.contiguous(memory_format=torch.channels_last)
    return batch


def setup_torch(args):
    """Threads first: libtorch fixes its pools at the first parallel op."""
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    # cuDNN times its algorithms on the first batch of each shape and keeps
    # the fastest; off by default in PyTorch (and in sweep).
    torch.backends.cudnn.benchmark = bool(getattr(args, "cudnn_benchmark", False))
    return torch.device(args.device)


# ---- data ------------------------------------------------------------------


def generate_chest(splits=SPLITS):
    """A ChestMNIST-shaped set: 28x28 uint8 grey images, 14 binary labels.

    Each label owns a fixed random blob that brightens the image when the
    label is present, so the task is learnable and the AUC means something;
    the background is a vertical gradient plus noise. Deterministic and
    vectorised in chunks (about a second for all 112k images).
    """
    rng = np.random.default_rng(GENERATOR_SEED)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    gradient = (yy * 2.0).reshape(1, 784)
    masks = np.zeros((14, 784), np.float32)
    for j in range(14):
        cy, cx = rng.uniform(5, 23, size=2)
        r = rng.uniform(2.5, 5.0)
        masks[j] = (np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r)) * 60.0).reshape(784)
    out = {}
    # Splits draw from one stream in a fixed order: stop after the last one
    # asked for, so train and val are the same whether test is made or not.
    last = max(SPLITS.index(s) for s in splits)
    for split in SPLITS[: last + 1]:
        n = CHEST_SIZES[split]
        labels = (rng.random((n, 14)) < CHEST_PREVALENCE).astype(np.uint8)
        images = np.empty((n, 784), np.uint8)
        for start in range(0, n, 16_384):
            stop = min(n, start + 16_384)
            noise = rng.integers(0, 96, size=(stop - start, 784), dtype=np.uint8).astype(np.float32)
            pixels = noise + gradient + labels[start:stop].astype(np.float32) @ masks
            images[start:stop] = np.clip(pixels, 0, 255).astype(np.uint8)
        if split in splits:
            out[f"{split}_images"] = images.reshape(n, 28, 28)
            out[f"{split}_labels"] = labels
    return out


def strided(n, keep):
    """sweep's subset indices: `keep` evenly spread over 0..n, no RNG."""
    return np.arange(keep, dtype=np.int64) * n // keep


def apply_limit(arrays, limit):
    """sweep's `subset: N` (crates/sweep-train/src/data.rs): train strided down
    to N; val and test by the same ratio, rounded up, at least 32."""
    n = len(arrays["train_labels"])
    if limit is None or limit >= n:
        return arrays
    ratio = limit / n
    out = {}
    for split in SPLITS:
        if f"{split}_labels" not in arrays:
            continue
        m = len(arrays[f"{split}_labels"])
        keep = limit if split == "train" else min(m, max(32, int(np.ceil(m * ratio))))
        idx = strided(m, keep)
        out[f"{split}_images"] = arrays[f"{split}_images"][idx]
        out[f"{split}_labels"] = arrays[f"{split}_labels"][idx]
    return out


def load_data(args):
    """Train and val arrays (the references never touch test), and a name."""
    if args.generate:
        arrays, name = generate_chest(("train", "val")), "chestmnist-generated"
    else:
        with np.load(args.data) as f:
            arrays = {k: f[k] for k in ("train_images", "train_labels", "val_images", "val_labels")}
        name = args.data.stem
    arrays = apply_limit(arrays, args.limit)
    return arrays, name


class Task:
    """multi-label / binary / multi-class, and the matching loss, as sweep's
    loss.rs: BCE-with-logits (one logit for binary), or cross-entropy."""

    def __init__(self, train_labels, val_labels, num_classes=None):
        width = train_labels.shape[1] if train_labels.ndim == 2 else 1
        if width > 1:
            self.kind, self.outputs = "multi-label", width
        else:
            classes = num_classes or int(max(train_labels.max(), val_labels.max())) + 1
            self.kind, self.outputs = ("binary", 1) if classes == 2 else ("multi-class", classes)

    def targets(self, labels):
        """Labels as loss targets: float (N, L) or int64 (N,)."""
        import torch

        labels = torch.from_numpy(np.ascontiguousarray(labels))
        if self.kind == "multi-class":
            return labels.reshape(-1).long()
        return labels.reshape(len(labels), -1).float()

    def criterion(self):
        from torch import nn

        return nn.CrossEntropyLoss() if self.kind == "multi-class" else nn.BCEWithLogitsLoss()

    def probabilities(self, logits):
        return logits.softmax(-1) if self.kind == "multi-class" else logits.sigmoid()


# ---- metrics (sweep-metrics' definitions; numpy only, to keep RSS honest) ---


def auc_binary(y, score):
    """ROC AUC by the rank-sum formula with tied scores averaged; None if one class."""
    y = np.asarray(y).astype(bool)
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    s = np.sort(score)
    ranks = (np.searchsorted(s, score, "left") + np.searchsorted(s, score, "right") + 1) / 2.0
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def scores(task, labels, probs):
    """(accuracy, macro AUC) as sweep reports them: element-wise accuracy at 0.5
    for sigmoid tasks, argmax accuracy and one-vs-rest AUC for multi-class;
    outputs whose AUC is undefined are left out of the mean."""
    probs = np.asarray(probs, np.float64)
    if task.kind == "multi-class":
        y = labels.reshape(-1).astype(np.int64)
        acc = float((probs.argmax(1) == y).mean())
        per = [auc_binary(y == c, probs[:, c]) for c in range(task.outputs)]
    else:
        y = labels.reshape(len(labels), -1)
        acc = float(((probs >= 0.5) == (y != 0)).mean())
        per = [auc_binary(y[:, j], probs[:, j]) for j in range(y.shape[1])]
    defined = [a for a in per if a is not None]
    return acc, (float(np.mean(defined)) if defined else None)


# ---- result ----------------------------------------------------------------


def peak_rss_mib():
    """Peak RSS of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class Timer:
    """Per-epoch train and whole-epoch (train + validation) seconds."""

    def __init__(self):
        self.train, self.epoch = [], []

    def start(self):
        self._t0 = time.perf_counter()

    def trained(self):
        self.train.append(time.perf_counter() - self._t0)

    def evaluated(self):
        self.epoch.append(time.perf_counter() - self._t0)


def steady(values):
    """Mean over the epochs after the first (warm-up), or the only one."""
    return float(np.mean(values[1:] if len(values) > 1 else values))


def report(impl, args, dataset, n_train, n_val, timer, val):
    """The one JSON line scripts/bench reads."""
    epoch_s, train_s = steady(timer.epoch), steady(timer.train)
    line = {
        "impl": impl,
        "arch": args.arch,
        "dataset": dataset,
        "train_samples": n_train,
        "val_samples": n_val,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "seconds_per_epoch": round(epoch_s, 4),
        "train_seconds_per_epoch": round(train_s, 4),
        "images_per_second": round(n_train / train_s, 1),
        "epoch_images_per_second": round(n_train / epoch_s, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "val_loss": val["loss"],
        "val_accuracy": val["accuracy"],
        "val_auc": val["auc"],
        "epoch_seconds": [round(s, 4) for s in timer.epoch],
    }
    print(json.dumps(line), flush=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    if len(sys.argv) == 4 and sys.argv[1:3] == ["generate", "chest"]:
        out = Path(sys.argv[3])
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp.npz")
        np.savez(tmp, **generate_chest())
        tmp.replace(out)
    else:
        sys.exit("usage: python bench/common.py generate chest OUT.npz")


if __name__ == "__main__":
    main()
