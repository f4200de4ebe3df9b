"""Reference for whole sweeps: the same grid as a plain Python loop.

What a researcher writes without sweep: one process, every configuration in
turn (arch x learning rate x fold), each trained by reference (b)'s `fit`
(preloaded tensors, channels-last, no DataLoader) on all the threads the
machine has, then, like sweep's worker, the lowest-val-loss epoch's
weights are restored and train and the official test split are scored. Folds are drawn like
sweep's `folds: {k, stratified: true}`: train + val pooled, each class
shuffled and dealt round-robin, fold f validates and the rest train.

Usage: python bench/reference_sweep.py --data breastmnist.npz \\
           --archs chest_cnn,derma_cnn --lrs 1e-3,1e-4 --folds 3 --epochs 3
Prints one JSON line: wall seconds for the whole loop and per configuration.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import reference_preloaded  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="MedMNIST .npz")
    p.add_argument("--archs", default="chest_cnn,derma_cnn")
    p.add_argument("--lrs", default="1e-3,1e-4")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-batch-size", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    return p.parse_args()


def stratified_folds(labels, k, seed):
    """Fold number (0..k-1) of every sample: each class shuffled, then dealt."""
    rng = np.random.default_rng(seed)
    y = labels.reshape(len(labels), -1)[:, 0]
    fold = np.empty(len(y), np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rng.shuffle(members)
        fold[members] = np.arange(len(members)) % k
    return fold


def main():
    a = parse_args()
    with np.load(a.data) as f:
        arrays = {k: f[k] for k in f.files}
    pooled_x = np.concatenate([arrays["train_images"], arrays["val_images"]])
    pooled_y = np.concatenate([arrays["train_labels"], arrays["val_labels"]])
    fold_of = stratified_folds(pooled_y, a.folds, a.split_seed)
    test = (arrays["test_images"], arrays["test_labels"])

    import torch

    device = None
    started = time.perf_counter()
    runs = []
    for arch in a.archs.split(","):
        for lr in (float(v) for v in a.lrs.split(",")):
            for fold in range(a.folds):
                t0 = time.perf_counter()
                args = argparse.Namespace(
                    arch=arch,
                    lr=lr,
                    epochs=a.epochs,
                    batch_size=a.batch_size,
                    eval_batch_size=a.eval_batch_size,
                    threads=a.threads,
                    seed=a.seed,
                    device=a.device,
                    input_channels=None,
                    num_classes=None,
                    init="sweep",
                    memory_format=reference_preloaded.DEFAULT_MEMORY_FORMAT,
                )
                if device is None:
                    device = common.setup_torch(args)  # thread pools: once per process
                torch.manual_seed(a.seed)
                split = {
                    "train_images": pooled_x[fold_of != fold],
                    "train_labels": pooled_y[fold_of != fold],
                    "val_images": pooled_x[fold_of == fold],
                    "val_labels": pooled_y[fold_of == fold],
                }
                _, val, tested, _, _ = reference_preloaded.fit(args, device, split, test)
                runs.append(
                    {
                        "arch": arch,
                        "lr": lr,
                        "fold": fold + 1,
                        "seconds": round(time.perf_counter() - t0, 3),
                        "val_auc": val["auc"],
                        "test_auc": tested["test"]["auc"],
                    }
                )
                common.log(f"python loop: {arch} lr {lr} fold {fold + 1}: {runs[-1]['seconds']} s")
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "impl": "python-loop",
                "dataset": a.data.stem,
                "runs": len(runs),
                "threads": a.threads,
                "wall_seconds": round(wall, 3),
                "sum_run_seconds": round(sum(r["seconds"] for r in runs), 3),
                "peak_rss_mib": round(common.peak_rss_mib(), 1),
                "per_run": runs,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
