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

Two levers sweep does not pull, measured here so that the GPU check can say
what each would buy before sweep adopts it (bench/gpu_check.py, part
`levers`):
  --cudnn-benchmark  cuDNN times its algorithms on the first batch of each
                     shape and keeps the fastest (torch.backends.cudnn.benchmark)
  --cuda-graph       every full training batch (gather, forward, loss,
                     backward, fused Adam step, loss sum) is replayed from one
                     captured CUDA graph, after three eager warm-up steps on a
                     side stream, as PyTorch's CUDA-graphs notes describe; a
                     last, smaller batch runs eagerly. Adam is `capturable`.
                     On the CPU (the dry run) nothing is captured: the step
                     is called again for each batch through the same static
                     index buffer, which checks everything but the capture.

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
    graphed = getattr(args, "cuda_graph", False)
    capturable = graphed and device.type == "cuda"
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True, capturable=capturable)
    criterion = task.criterion()
    # The epoch's loss sum lives in one tensor a captured graph can add to.
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)

    def train_step(idx):
        x = preprocess(train_x.index_select(0, idx), channels, args)
        y = train_y.index_select(0, idx)
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        loss_sum.add_(loss.detach().double() * idx.numel())

    step = GraphedStep(train_step, optimizer, args.batch_size, device) if graphed else None
    timer = common.Timer()
    best = None  # (val loss, val scores, state dict) of the kept epoch
    for epoch in range(1, args.epochs + 1):
        timer.start()
        model.train()
        order = torch.randperm(n, device=device)
        loss_sum.zero_()
        for start in range(0, n, args.batch_size):
            idx = order[start : start + args.batch_size]
            if step is not None:
                step(idx)
            else:
                optimizer.zero_grad()
                train_step(idx)
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


class GraphedStep:
    """Runs `train_step(idx)` for each batch: the first WARMUP full batches
    eagerly on a side stream, then every full batch by copying its indices
    into a static buffer and replaying the graph captured from the step on
    that buffer. A smaller batch (the epoch's last) runs eagerly; its
    gradients are fresh tensors, so the graph's own are never accumulated
    into. On the CPU there is no capture: the "replay" calls the step again
    on the static buffer."""

    WARMUP = 3

    def __init__(self, train_step, optimizer, batch_size, device):
        import torch

        self.train_step, self.optimizer, self.device = train_step, optimizer, device
        self.static_idx = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.eager_steps = 0
        self.graph = None

    def __call__(self, idx):
        import torch

        if idx.numel() != self.static_idx.numel():
            self.eager(idx)
        elif self.device.type != "cuda":
            self.static_idx.copy_(idx)
            self.eager(self.static_idx)
        elif self.graph is None and self.eager_steps < self.WARMUP:
            self.eager_steps += 1
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.eager(idx)
            torch.cuda.current_stream().wait_stream(side)
        else:
            self.static_idx.copy_(idx)
            if self.graph is None:
                # Gradients are None when captured, so the graph allocates
                # them from its own pool and overwrites them at every replay.
                self.optimizer.zero_grad(set_to_none=True)
                self.graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.graph):
                    self.train_step(self.static_idx)
                common.log("(b) captured the training step as a CUDA graph")
            self.graph.replay()

    def eager(self, idx):
        """One step outside any graph, on fresh gradients."""
        self.optimizer.zero_grad(set_to_none=True)
        self.train_step(idx)


def add_levers(p):
    p.add_argument("--cudnn-benchmark", action="store_true",
                   help="let cuDNN time its algorithms and keep the fastest (GPU)")
    p.add_argument("--cuda-graph", action="store_true",
                   help="replay each full training batch from one captured CUDA graph (GPU; "
                   "on the CPU the step is only routed through the same static buffers)")


def main():
    args = common.parse_args(__doc__.splitlines()[0], memory_format=DEFAULT_MEMORY_FORMAT,
                             extra=add_levers)
    device = common.setup_torch(args)
    arrays, name = common.load_data(args)
    timer, val_scores, _, n_train, n_val = fit(args, device, arrays)
    common.report("preloaded", args, name, n_train, n_val, timer, val_scores)


if __name__ == "__main__":
    main()
