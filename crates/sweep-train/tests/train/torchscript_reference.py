"""What tests/train/torchscript_runs.rs compares sweep against.

`python torchscript_reference.py OUT_DIR` writes, with the torch of the
project's virtualenv:

* `data/breastmnist.npz`: a tiny BreastMNIST-shaped dataset (16 training,
  8 validation, 8 test images of 28x28 grey pixels, binary labels);
* `net.pt`: a small squeeze-excitation network with a batch norm, scripted
  with `torch.jit.script` and saved before any training;
* `rgb.pt` and `ten.pt`: the same network for 3-channel images and for ten
  outputs, which do not fit the dataset;
* `expected_sgd.json`, `expected_adam.json`: every parameter and buffer of
  `net.pt` after PyTorch trained it for five steps, each on the whole
  training split (what sweep does with `batch_size: 16`), with the loss sweep
  uses for a binary task (BCE with logits, mean) and the same optimiser.
"""

import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STEPS = 5
# Adam moves a weight by about lr whatever its gradient's size, so where a
# gradient is near zero (about 1e-6 for one convolution weight here) the last
# bits of two correct implementations' sums move it differently, by up to a
# fraction of lr: 1e-4 keeps that well inside the tests' 1e-5 (at 1e-3 it
# came to 9e-6).
OPTIMISERS = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-4),
}


class SqueezeExcite(nn.Module):
    """Channel attention: pooled features rescale their own channels."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.squeeze = nn.Linear(channels, channels // reduction)
        self.excite = nn.Linear(channels // reduction, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.excite(F.relu(self.squeeze(s))))
        return x * s[:, :, None, None]


class Net(nn.Module):
    def __init__(self, in_channels: int = 1, outputs: int = 1):
        super().__init__()
        # No bias before the batch norm: its gradient is zero but for
        # rounding, which Adam would scale up to full steps in either
        # direction, so two correct implementations would disagree.
        self.conv = nn.Conv2d(in_channels, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.se = SqueezeExcite(8)
        self.head = nn.Linear(8, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(F.relu(self.bn(self.conv(x))))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def dataset(out: pathlib.Path) -> None:
    rng = np.random.default_rng(7)
    arrays = {}
    for split, n in [("train", 16), ("val", 8), ("test", 8)]:
        labels = np.array([i % 2 for i in range(n)], dtype=np.uint8)[:, None]
        images = rng.integers(0, 120, size=(n, 28, 28), dtype=np.uint8)
        images[labels[:, 0] == 1, 8:20, 8:20] += 100  # a bright square marks class 1
        arrays[f"{split}_images"] = images
        arrays[f"{split}_labels"] = labels
    (out / "data").mkdir(parents=True, exist_ok=True)
    np.savez(out / "data" / "breastmnist.npz", **arrays)


def train(out: pathlib.Path, name: str) -> None:
    data = np.load(out / "data" / "breastmnist.npz")
    x = torch.from_numpy(data["train_images"]).float()[:, None] / 255.0
    y = torch.from_numpy(data["train_labels"]).float()
    module = torch.jit.load(str(out / "net.pt"))
    module.train()
    optimiser = OPTIMISERS[name](module.parameters())
    for _ in range(STEPS):
        optimiser.zero_grad()
        F.binary_cross_entropy_with_logits(module(x), y).backward()
        optimiser.step()
    state = {}
    for key, tensor in list(module.named_parameters()) + list(module.named_buffers()):
        state[key] = tensor.detach().double().flatten().tolist()
    (out / f"expected_{name}.json").write_text(json.dumps(state))


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    dataset(out)
    torch.manual_seed(0)
    torch.jit.script(Net()).save(str(out / "net.pt"))
    torch.jit.script(Net(in_channels=3)).save(str(out / "rgb.pt"))
    torch.jit.script(Net(outputs=10)).save(str(out / "ten.pt"))
    for name in OPTIMISERS:
        train(out, name)


if __name__ == "__main__":
    main()
