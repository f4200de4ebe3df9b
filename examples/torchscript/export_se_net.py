"""Exports a small EfficientNet-style network for `arch: {torchscript: PATH}`.

The zoo has plain CNNs, ResNets, DenseNets and ViTs; it has no mobile
inverted bottleneck with squeeze-and-excitation (the block of MobileNetV3
and EfficientNet). This script builds one in plain PyTorch, scripts it and
saves it, so `experiments/torchscript_vs_zoo.yaml` can train it with sweep's
own loop next to built-in architectures and compare them in one report.

    python examples/torchscript/export_se_net.py            # se_net.pt beside this file
    python examples/torchscript/export_se_net.py OUT.pt --in-channels 3 --outputs 7

`--outputs` is the number of logits sweep's loss expects: 1 for a binary
dataset (BreastMNIST, PneumoniaMNIST), the number of classes for a
multi-class one, the number of labels for a multi-label one. sweep checks
channels, image size and outputs on one batch before training and names
both shapes if they disagree.

The weights saved here are the starting point of every run that names the
file (sweep does not re-initialise a TorchScript module), and the file's
sha256 is part of each run's key: exporting again with another seed makes
those runs new ones. Only PyTorch is needed; the `.pt` file is not kept in
the repository.
"""

import argparse
import pathlib

import torch
import torch.nn.functional as F
from torch import nn


class SqueezeExcite(nn.Module):
    """Rescales each channel by a gate computed from all channels' means."""

    def __init__(self, channels: int, squeezed: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = F.adaptive_avg_pool2d(x, 1)
        gate = torch.sigmoid(self.expand(F.silu(self.reduce(gate))))
        return x * gate


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1x1 expansion, depthwise 3x3, squeeze-
    and-excitation, 1x1 projection; a residual connection when the shape
    allows it."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int = 4):
        super().__init__()
        hidden = c_in * expand
        self.expand = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU()
        )
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.SiLU(),
        )
        self.se = SqueezeExcite(hidden, max(1, c_in // 4))
        self.project = nn.Sequential(
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.se(self.depthwise(self.expand(x))))
        if self.residual:
            y = y + x
        return y


class SENet(nn.Module):
    """A stem, five MBConv blocks (28 px -> 7 px), a 1x1 head, a classifier."""

    def __init__(self, in_channels: int, outputs: int, dropout: float = 0.2):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU()
        )
        self.blocks = nn.Sequential(
            MBConv(16, 16, 1),
            MBConv(16, 24, 2),
            MBConv(24, 24, 1),
            MBConv(24, 40, 2),
            MBConv(40, 40, 1),
        )
        self.head = nn.Sequential(
            nn.Conv2d(40, 128, 1, bias=False), nn.BatchNorm2d(128), nn.SiLU()
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(128, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(self.dropout(x))


def main() -> None:
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=here / "se_net.pt", type=pathlib.Path)
    parser.add_argument("--in-channels", type=int, default=1)
    parser.add_argument("--outputs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = SENet(args.in_channels, args.outputs).eval()
    scripted = torch.jit.script(model)
    # The scripted module computes what the Python one does.
    probe = torch.randn(2, args.in_channels, 28, 28)
    with torch.no_grad():
        assert torch.allclose(scripted(probe), model(probe))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scripted.save(str(args.out))
    params = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out} ({params} parameters, {args.in_channels} channel(s) in, "
          f"{args.outputs} output(s))")


if __name__ == "__main__":
    main()
