"""Reference (b): tuned eager PyTorch, the same data path sweep's trainer uses.

Every split is held once as a uint8 tensor (N, C, H, W) on the device; a
batch is `index_select` of a fresh random permutation, converted to float and
scaled only then; there is no Dataset, no collation and no per-sample Python.
Images and conv weights are channels-last (`--memory-format`), as in sweep
and as PyTorch's performance guide advises for CNNs. Adam is the fused
kernel (`fused=True`, one pass per parameter), as in sweep; PyTorch's
default on a CPU is the tensor-by-tensor form.
Evaluation after every epoch slices val in large batches, in eval mode
without gradients. This isolates what the trainer itself costs (tch and
Rust versus the Python interpreter driving the same libtorch), so sweep
should be no slower (target: sweep <= 1.0x its time per epoch).

bench/reference_sweep.py calls `fit` once per configuration of a sweep.

Usage: python bench/reference_preloaded.py --data retinamnist.npz --arch chest_cnn
       python bench/reference_preloaded.py --generate chest --limit 4096
Prints one JSON line (see common.report).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

DEFAULT_MEMORY_FORMAT = "channels_last"


def to_nchw(images, device):
    """(N, H, W) or (N, H, W, C) uint8 numpy -> (N, C, H, W) uint8 tensor on the device."""
    import torch

    x = torch.from_numpy(images)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.contiguous().to(device)


def preprocess(batch, channels, args):
    """uint8 batch -> float in [0, 1], grey replicated if asked."""
    x = batch.float().div_(255)
    x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 and channels == 3 else x
    return common.layout(x, args)


def evaluate(model, images, targets, labels, task, criterion, channels, args):
    """Whole-split loss and metrics, in eval mode without gradients."""
    import torch

    model.eval()
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), args.eval_batch_size):
            batch = images.narrow(0, start, min(args.eval_batch_size, len(images) - start))
            chunks.append(model(preprocess(batch, channels, args)))
    logits = torch.cat(chunks)
    loss = criterion(logits, targets).item()
    acc, auc = common.scores(task, labels, task.probabilities(logits).cpu().numpy())
    return {"loss": loss, "accuracy": acc, "auc": auc}


def fit(args, device, arrays, test=None):
    """Trains args.arch on arrays' train split for args.epochs, evaluating val
    after each epoch. With `test` (images, labels) it finishes as sweep's
    worker does: the weights of the epoch with the lowest val loss (sweep's
    default checkpoint) are restored and train and test are scored with them
    in eval mode. Returns (timer, val scores (last epoch, or kept epoch with
    `test`), {"train", "test"} scores or None, train size, val size)."""
    import copy

    import torch

    task = common.Task(arrays["train_labels"], arrays["val_labels"], args.num_classes)
    train_x, val_x = to_nchw(arrays["train_images"], device), to_nchw(arrays["val_images"], device)
    train_y = task.targets(arrays["train_labels"]).to(device)
    val_y = task.targets(arrays["val_labels"]).to(device)
    channels = args.input_channels or train_x.shape[1]
    n = len(train_x)

    model = common.build_model(args, channels, task.outputs, train_x.shape[2]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)
    criterion = task.criterion()
    timer = common.Timer()
    best = None  # (val loss, val scores, state dict) of the kept epoch
    for epoch in range(1, args.epochs + 1):
        timer.start()
        model.train()
        order = torch.randperm(n, device=device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for start in range(0, n, args.batch_size):
            idx = order[start : start + args.batch_size]
            x = preprocess(train_x.index_select(0, idx), channels, args)
            y = train_y.index_select(0, idx)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().double() * len(idx)
        train_loss = loss_sum.item() / n
        timer.trained()
        val_scores = evaluate(
            model, val_x, val_y, arrays["val_labels"], task, criterion, channels, args
        )
        if test is not None and (best is None or val_scores["loss"] < best[0]):
            best = (val_scores["loss"], val_scores, copy.deepcopy(model.state_dict()))
        timer.evaluated()
        common.log(
            f"(b) epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, "
            f"val loss {val_scores['loss']:.4f}, val auc {val_scores['auc']}, {timer.epoch[-1]:.2f}s"
        )
    final = None
    if test is not None:
        _, val_scores, state = best
        model.load_state_dict(state)
        images, labels = test
        final = {
            "train": evaluate(
                model, train_x, train_y, arrays["train_labels"], task, criterion, channels, args
            ),
            "test": evaluate(
                model,
                to_nchw(images, device),
                task.targets(labels).to(device),
                labels,
                task,
                criterion,
                channels,
                args,
            ),
        }
    return timer, val_scores, final, n, len(val_x)


def main():
    args = common.parse_args(__doc__.splitlines()[0], memory_format=DEFAULT_MEMORY_FORMAT)
    device = common.setup_torch(args)
    arrays, name = common.load_data(args)
    timer, val_scores, _, n_train, n_val = fit(args, device, arrays)
    common.report("preloaded", args, name, n_train, n_val, timer, val_scores)


if __name__ == "__main__":
    main()
