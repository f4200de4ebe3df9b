"""Per-layer spread of PyTorch's default initialisation, for sweep-train's
`train.init: torch` test.

PyTorch initialises every torch.nn.Conv2d / Linear in `reset_parameters`
(weight `kaiming_uniform_(a=sqrt(5))`, bias uniform in +-1/sqrt(fan_in)) and
every BatchNorm2d with weight 1 and bias 0. This script builds those modules
for the layer shapes the zoo uses (a grey and an RGB first convolution, a
3x3 inside a block, the torchvision 7x7 stem, a 1x1 bottleneck, dense heads
of several widths, a batch norm), lets PyTorch initialise each one under 16
seeds, and writes the mean over the seeds of each parameter's standard
deviation (`std`, population form) and its largest absolute value
(`max_abs`) to JSON. The Rust test builds the same layers with tch, applies
`init: torch` and compares: the numbers are PyTorch's own, so a mistake in
the fan or the bound formula on either side shows up as a mismatch.

Run with the project's PyTorch (scripts/torch-env.sh sets up the venv):

    "$SWEEP_TORCH_VENV/bin/python" scripts/init_fixtures.py \
        > crates/sweep-train/tests/fixtures/init_torch.json
"""

import json
import sys

import torch
from torch import nn

SEEDS = 16

# name -> a function building the module. The names are the variable paths
# the Rust test uses.
LAYERS = {
    "conv_grey_3x3": lambda: nn.Conv2d(1, 32, 3, padding=1),
    "conv_rgb_3x3": lambda: nn.Conv2d(3, 32, 3, padding=1),
    "conv_32_64_3x3": lambda: nn.Conv2d(32, 64, 3, padding=1),
    "conv_stem_7x7": lambda: nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
    "conv_256_64_1x1": lambda: nn.Conv2d(256, 64, 1, bias=False),
    "linear_128_128": lambda: nn.Linear(128, 128),
    "linear_512_14": lambda: nn.Linear(512, 14),
    "linear_2048_14": lambda: nn.Linear(2048, 14),
    "bn_64": lambda: nn.BatchNorm2d(64),
}


def spread(make):
    """Mean over seeds of std and max |value| of each parameter, with shapes."""
    sums = {}
    shapes = {}
    for seed in range(SEEDS):
        torch.manual_seed(seed)
        module = make()
        for name, p in module.named_parameters():
            v = p.detach().double()
            std = v.std(unbiased=False).item()
            max_abs = v.abs().max().item()
            s = sums.setdefault(name, [0.0, 0.0])
            s[0] += std / SEEDS
            s[1] += max_abs / SEEDS
            shapes[name] = list(p.shape)
    return {
        name: {"shape": shapes[name], "std": s[0], "max_abs": s[1]}
        for name, s in sums.items()
    }


def main():
    layers = {name: spread(make) for name, make in LAYERS.items()}
    json.dump(
        {"torch_version": torch.__version__, "seeds": SEEDS, "layers": layers},
        sys.stdout,
        indent=1,
        sort_keys=True,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
