"""Reference (a): the MedMNIST-example way of training in PyTorch.

A `Dataset` over the uint8 arrays converts one sample at a time
(`from_numpy(...).float().div(255)`, channels first, grey replicated if
asked), a `DataLoader(shuffle=True, num_workers=0)` collates the batches,
Adam trains, and after every epoch the model is evaluated on val in eval mode
without gradients, as sweep does. Tensors stay in PyTorch's default
(contiguous) layout unless `--memory-format channels_last`. This is the
baseline most people start from, so it is what sweep's trainer should beat
(target: sweep <= 0.8x its time per epoch).

Usage: python bench/reference_dataloader.py --data retinamnist.npz --arch chest_cnn
       python bench/reference_dataloader.py --generate chest --limit 4096
Prints one JSON line (see common.report).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

args = common.parse_args(__doc__.splitlines()[0])
device = common.setup_torch(args)

import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402


class MedMnistDataset(Dataset):
    """One split; every item is converted on its own, as torchvision's
    ToTensor would, but without PIL."""

    def __init__(self, images, labels, task, channels):
        self.images, self.labels, self.task, self.channels = images, labels, task, channels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i]).float().div(255)
        x = x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)
        if x.shape[0] == 1 and self.channels == 3:
            x = x.repeat(3, 1, 1)
        label = self.labels[i]
        if self.task.kind == "multi-class":
            y = torch.tensor(int(label.reshape(-1)[0]), dtype=torch.long)
        else:
            y = torch.from_numpy(np.asarray(label, np.float32).reshape(-1))
        return x, y


def evaluate(model, loader, task, criterion, labels):
    """Whole-split loss and metrics, in eval mode without gradients."""
    model.eval()
    chunks = []
    with torch.no_grad():
        for x, _ in loader:
            chunks.append(model(common.layout(x.to(device), args)))
    logits = torch.cat(chunks)
    loss = criterion(logits, task.targets(labels).to(device)).item()
    acc, auc = common.scores(task, labels, task.probabilities(logits).cpu().numpy())
    return {"loss": loss, "accuracy": acc, "auc": auc}


def main():
    arrays, name = common.load_data(args)
    task = common.Task(arrays["train_labels"], arrays["val_labels"], args.num_classes)
    shape = arrays["train_images"].shape
    channels = args.input_channels or (shape[3] if len(shape) == 4 else 1)
    train = MedMnistDataset(arrays["train_images"], arrays["train_labels"], task, channels)
    val = MedMnistDataset(arrays["val_images"], arrays["val_labels"], task, channels)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, num_workers=0)
    val_loader = DataLoader(val, batch_size=args.eval_batch_size, shuffle=False, num_workers=0)

    model = common.build_model(args, channels, task.outputs, shape[1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    criterion = task.criterion()
    timer = common.Timer()
    for epoch in range(1, args.epochs + 1):
        timer.start()
        model.train()
        loss_sum = 0.0
        for x, y in train_loader:
            x, y = common.layout(x.to(device), args), y.to(device)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(x)
        timer.trained()
        val_scores = evaluate(model, val_loader, task, criterion, arrays["val_labels"])
        timer.evaluated()
        common.log(
            f"(a) epoch {epoch}/{args.epochs}: train loss {loss_sum / len(train):.4f}, "
            f"val loss {val_scores['loss']:.4f}, val auc {val_scores['auc']}, {timer.epoch[-1]:.2f}s"
        )
    common.report("dataloader", args, name, len(train), len(val), timer, val_scores)


main()
