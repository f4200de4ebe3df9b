"""sweep-train's hand-written architectures, again in plain PyTorch.

One definition serves two users: the benchmark references (which must train
exactly the network sweep trains, or the timings compare different work) and
crates/sweep-train/tests/fixtures/param_counts.py (which checks that the tch
models hold the same parameter names and shapes). Layer names, widths,
paddings, dropout rates and the small-input ResNet stem follow
crates/sweep-train/src/models/; nothing here needs torchvision.

`python bench/models.py --check` compares every model below with the counts
recorded in param_counts.json (the Rust tests assert the same file).
"""

import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

# Largest image side that gets the 3x3/1 stem without max pool (layers.rs).
SMALL_INPUT_MAX = 64


def conv_out(size, kernel=3, padding=0, stride=1):
    """Output side of a convolution, for the models that flatten."""
    return (size + 2 * padding - kernel) // stride + 1


class ChestCnn(nn.Module):
    """chest_cnn: three same-padded conv+BN blocks (32/64/128), GAP, two
    dense(128)+dropout(0.4) layers; size-independent parameter count."""

    def __init__(self, c, k, size):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(128)
        self.fc1 = nn.Linear(128, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, k)

    def forward(self, x):
        x = F.max_pool2d(self.bn1(self.conv1(x)).relu(), 2)
        x = F.max_pool2d(self.bn2(self.conv2(x)).relu(), 2)
        x = self.bn3(self.conv3(x)).relu().mean(dim=(2, 3))
        x = F.dropout(self.fc1(x).relu(), 0.4, self.training)
        x = F.dropout(self.fc2(x).relu(), 0.4, self.training)
        return self.fc3(x)


class RetinaCnn(nn.Module):
    """retina_cnn: four same-padded conv+BN blocks (32..256), GAP, dense(128)."""

    def __init__(self, c, k, size):
        super().__init__()
        widths = [c, 32, 64, 128, 256]
        for i in range(4):
            setattr(self, f"conv{i + 1}", nn.Conv2d(widths[i], widths[i + 1], 3, padding=1))
            setattr(self, f"bn{i + 1}", nn.BatchNorm2d(widths[i + 1]))
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, k)

    def forward(self, x):
        for i in range(1, 5):
            x = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)).relu()
            if i < 4:
                x = F.max_pool2d(x, 2)
        x = x.mean(dim=(2, 3))
        x = F.dropout(self.fc1(x).relu(), 0.4, self.training)
        return self.fc2(x)


class DermaCnn(nn.Module):
    """derma_cnn: four unpadded conv+BN blocks (16/16/64/64), pools after the
    second and fourth, flattening MLP; the first dense width follows the size."""

    def __init__(self, c, k, size):
        super().__init__()
        s = conv_out(conv_out(size)) // 2
        s = conv_out(conv_out(s)) // 2
        widths = [c, 16, 16, 64, 64]
        for i in range(4):
            setattr(self, f"conv{i + 1}", nn.Conv2d(widths[i], widths[i + 1], 3))
            setattr(self, f"bn{i + 1}", nn.BatchNorm2d(widths[i + 1]))
        self.fc1 = nn.Linear(64 * s * s, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, k)

    def forward(self, x):
        for i in range(1, 5):
            x = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)).relu()
            if i in (2, 4):
                x = F.max_pool2d(x, 2)
        x = x.flatten(1)
        return self.fc3(self.fc2(self.fc1(x).relu()).relu())


class SmallCnn(nn.Module):
    """small_cnn: Keras-MNIST-style conv32/conv64 (valid), dense(128)+dropout(0.5)."""

    def __init__(self, c, k, size):
        super().__init__()
        s = conv_out(conv_out(size) // 2) // 2
        self.conv1 = nn.Conv2d(c, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(64 * s * s, 128)
        self.fc2 = nn.Linear(128, k)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x).relu(), 2)
        x = F.max_pool2d(self.conv2(x).relu(), 2)
        x = F.dropout(self.fc1(x.flatten(1)).relu(), 0.5, self.training)
        return self.fc2(x)


class VanillaCnn(nn.Module):
    """vanilla_cnn: three same-padded convs (32/64/128), each with ReLU and
    2x2 max pooling, then a 512-unit dense layer and the output layer
    (51,481,166 parameters at 3 channels, 14 outputs, 224 px)."""

    def __init__(self, c, k, size):
        super().__init__()
        s = size // 2 // 2 // 2
        self.conv1 = nn.Conv2d(c, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.fc1 = nn.Linear(128 * s * s, 512)
        self.fc2 = nn.Linear(512, k)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.max_pool2d(conv(x).relu(), 2)
        return self.fc2(self.fc1(x.flatten(1)).relu())


class BasicBlock(nn.Module):
    """ResNet basic block with torchvision's names (conv1/bn1, conv2/bn2,
    downsample.0/.1 when the shape changes)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        skip = x if self.downsample is None else self.downsample(x)
        return (y + skip).relu()


class ResNet18(nn.Module):
    """resnet18 as sweep builds it: torchvision's layout and names, but at
    <= 64 px a 3x3 stride-1 stem and no max pool (the CIFAR/MedMNIST variant),
    since the 7x7/2 stem plus pool would shrink 28 px to 7 px before layer1."""

    def __init__(self, c, k, size):
        super().__init__()
        self.small_input = size <= SMALL_INPUT_MAX
        if self.small_input:
            self.conv1 = nn.Conv2d(c, 64, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(c, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = [64, 64, 128, 256, 512]
        for i in range(4):
            stride = 1 if i == 0 else 2
            setattr(
                self,
                f"layer{i + 1}",
                nn.Sequential(
                    BasicBlock(widths[i], widths[i + 1], stride),
                    BasicBlock(widths[i + 1], widths[i + 1], 1),
                ),
            )
        self.fc = nn.Linear(512, k)

    def forward(self, x):
        x = self.bn1(self.conv1(x)).relu()
        if not self.small_input:
            x = F.max_pool2d(x, 3, 2, 1)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(x.mean(dim=(2, 3)))


ARCHS = {
    "chest_cnn": ChestCnn,
    "retina_cnn": RetinaCnn,
    "derma_cnn": DermaCnn,
    "small_cnn": SmallCnn,
    "vanilla_cnn": VanillaCnn,
    "resnet18": ResNet18,
}


def build(arch, in_channels, num_outputs, image_size):
    """The model sweep's registry would build for this (c, k, size)."""
    try:
        make = ARCHS[arch]
    except KeyError:
        sys.exit(f"unknown arch {arch!r} (known here: {', '.join(ARCHS)})")
    return make(in_channels, num_outputs, image_size)


def init_like_tch(model):
    """Re-initialises `model` the way sweep's tch models start, which is not
    PyTorch's default: tch draws conv and linear weights Kaiming-uniform with
    the ReLU gain (bound sqrt(6 / fan_in), PyTorch's is 1 / sqrt(fan_in)) and
    zeroes conv biases (PyTorch draws them); linear biases and batch norm
    (scale 1, shift 0, as layers.rs sets it) already agree."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, mode="fan_in", nonlinearity="relu")
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def check(fixture):
    """Compares total counts and parameter names/shapes with param_counts.json."""
    entries = json.loads(Path(fixture).read_text())["entries"]
    checked = 0
    for e in entries:
        if e["arch"] not in ARCHS:
            continue
        model = build(e["arch"], e["in_channels"], e["num_outputs"], e["image_size"])
        shapes = {name: list(p.shape) for name, p in model.named_parameters()}
        total = sum(p.numel() for p in model.parameters())
        where = f"{e['arch']} c={e['in_channels']} k={e['num_outputs']} px={e['image_size']}"
        assert shapes == e["parameters"], f"{where}: parameter names/shapes differ"
        assert total == e["total"], f"{where}: {total} != {e['total']}"
        print(f"ok {where}: {total:,} parameters")
        checked += 1
    assert checked, "no entry of param_counts.json matched"


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    default = root / "crates/sweep-train/tests/fixtures/param_counts.json"
    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2] if len(sys.argv) > 2 else default)
    else:
        sys.exit("usage: python bench/models.py --check [param_counts.json]")
