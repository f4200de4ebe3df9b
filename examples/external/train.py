"""A plain-PyTorch training script that sweep runs as a `worker:` command.

Its model (a small CNN with squeeze-and-excitation blocks) and its loss (the
focal loss of Lin et al., 2017) are its own; sweep's zoo has neither. sweep
gives it the fold's samples and the run's settings, and computes every
metric from the predictions it writes, so its runs appear in reports and
paired tests next to sweep's built-in models
(experiments/breast_external.yaml).

The lines that speak to sweep are marked `# sweep`; everything else is an
ordinary PyTorch script.
"""

import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import sweep_run  # noqa: E402  # sweep


class SqueezeExcite(nn.Module):
    """Channel attention: global pooling, a bottleneck, a sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        w = x.mean(dim=(2, 3))
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(w))))
        return x * w[:, :, None, None]


class SECNN(nn.Module):
    def __init__(self, in_channels: int, outputs: int, width: int = 32):
        super().__init__()
        layers, c = [], in_channels
        for out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True), SqueezeExcite(out), nn.MaxPool2d(2)]
            c = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, outputs)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def focal_loss(logits, target, task: str, gamma: float = 2.0):
    """Focal loss: cross-entropy down-weighted on well-classified samples."""
    if task == "multi-class":
        logp = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
        return (-(1 - logp.exp()) ** gamma * logp).mean()
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    return ((1 - p_t) ** gamma * ce).mean()


def to_tensors(images, labels, task):
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    y = torch.from_numpy(labels.astype(np.int64))
    y = y[:, 0] if task == "multi-class" else y.float()
    return x, y


def probabilities(model, x, task, batch=512):
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
    return (F.softmax(out, 1) if task == "multi-class" else torch.sigmoid(out)).cpu().numpy()


def auc(scores, labels):
    """Rank AUC of the first output (progress display only: sweep computes
    the reported metrics itself)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def main():
    run = sweep_run.start()                                      # sweep
    torch.manual_seed(run.seed)
    torch.set_num_threads(run.threads)
    device = torch.device("cuda" if run.device.startswith("cuda") else "cpu")
    task = run.task
    x_train, y_train = to_tensors(*run.arrays("train"), task)    # sweep
    x_val, y_val = to_tensors(*run.arrays("val"), task)          # sweep
    x_test, _ = to_tensors(*run.arrays("test"), task)            # sweep

    model = SECNN(x_train.shape[1], run.num_outputs).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=run.lr)
    run.started(params=sum(p.numel() for p in model.parameters()))  # sweep
    best, best_loss = None, float("inf")
    for epoch in range(1, run.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train))
        total = 0.0
        for i in range(0, len(order), run.batch_size):
            idx = order[i:i + run.batch_size]
            loss = focal_loss(model(x_train[idx].to(device)), y_train[idx].to(device), task)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            val_loss = focal_loss(model(x_val.to(device)), y_val.to(device), task).item()
        val_scores = probabilities(model, x_val.to(device), task)
        if task == "multi-class":
            val_auc = auc(val_scores[:, 1], (y_val == 1).numpy())
        else:
            val_auc = auc(val_scores[:, 0], y_val[:, 0].numpy())
        run.epoch(epoch, train_loss=total / len(order), val_loss=val_loss, val_auc=val_auc)  # sweep
        if val_loss < best_loss:
            best_loss, best = val_loss, {k: v.clone() for k, v in model.state_dict().items()}

    model.load_state_dict(best)
    run.finish(probabilities(model, x_val.to(device), task),     # sweep
               probabilities(model, x_test.to(device), task))


if __name__ == "__main__":
    main()
