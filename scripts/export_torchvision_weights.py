#!/usr/bin/env python3
"""Export torchvision's ImageNet weights for sweep's model zoo as safetensors.

Most users do not need this script: `sweep weights pull resnet50_imagenet`
downloads, checks and converts the same weights without Python, and
`train.pretrained: imagenet` uses them (docs/weights.md). This script is for
what `sweep weights` does not do: a grey stem (`--in-channels 1`) and ViT
position embeddings resampled for 128 px (`--image-size`).

sweep trains with libtorch. Its resnet18/50/152,
densenet121/161/201 and vit_b16 models use torchvision's variable names, so
torchvision's published weights load into them by name once they are in a
file libtorch can read. This script, for a machine with torchvision and
internet access, writes that file:

    pip install torch torchvision            # e.g. torch 2.13.0 + torchvision 0.28.0
    python scripts/export_torchvision_weights.py resnet50 weights/resnet50.safetensors
    python scripts/export_torchvision_weights.py densenet121 weights/densenet121_grey.safetensors \\
        --in-channels 1
    python scripts/export_torchvision_weights.py vit_b16 weights/vit_b16_128px.safetensors \\
        --image-size 128

and the experiment file points at it:

    train:
      pretrained: weights/resnet50.safetensors
      input_channels: 3        # or 1 with --in-channels 1
      input_size: 224

What to know:

* The weights fit the standard stems only. The CNNs switch to a 3x3 stride-1
  stem at 64 px and below, which has no ImageNet counterpart: train at more
  than 64 px (`input_size`) to use these weights. vit_b16 takes them as
  exported at 224 px; `--image-size 128` (or any multiple of 16 from 128 px,
  where sweep also uses 16 px patches) resamples the position embeddings with
  torchvision's `interpolate_embeddings`. Other sizes use smaller patches and
  are refused.
* `--in-channels 1` sums the stem filters over the RGB channels, so a grey
  model answers a grey image as the RGB model answers that image repeated on
  three channels. Without it, train with `input_channels: 3`.
* The 1000-class ImageNet head is exported as is. sweep skips it when the
  task has another number of outputs, keeps the fresh head and says so in
  the run's worker.log; any other shape difference stops the run with the
  tensor's name and both shapes.
* `vit_b16_lora` takes the vit_b16 file: its frozen base is filled, and its
  adapters, absent from the file, are reported missing and start at zero.
* Batch-norm `num_batches_tracked` counters are dropped (sweep's batch norms
  have none), and every tensor is stored as float32.
* `--weights` names a member of the torchvision weights enum (default
  `DEFAULT`, e.g. `IMAGENET1K_V2` for resnet50). `--weights none` exports the
  random initialisation instead: it needs no internet and checks that the
  names line up.
"""

import argparse
import json
import struct
import sys

import torch

# sweep architecture -> (torchvision model, its stem convolution)
ARCHS = {
    "resnet18": ("resnet18", "conv1.weight"),
    "resnet50": ("resnet50", "conv1.weight"),
    "resnet152": ("resnet152", "conv1.weight"),
    "densenet121": ("densenet121", "features.conv0.weight"),
    "densenet161": ("densenet161", "features.conv0.weight"),
    "densenet201": ("densenet201", "features.conv0.weight"),
    "vit_b16": ("vit_b_16", "conv_proj.weight"),
    "vit_b16_lora": ("vit_b_16", "conv_proj.weight"),
}

# Largest image side for which sweep's CNNs use their small-input stem.
SMALL_INPUT_MAX = 64
VIT_PATCH = 16


def fail(message):
    sys.exit(f"export_torchvision_weights: {message}")


def load_state(tv_name, weights):
    try:
        from torchvision import models
    except ImportError:
        fail("needs torchvision (pip install torchvision)")
    if weights.lower() == "none":
        chosen = None
    else:
        enum = models.get_model_weights(tv_name)
        try:
            chosen = enum[weights]
        except KeyError:
            names = ", ".join(w.name for w in enum)
            fail(f"{tv_name} has no weights {weights!r} (choose from DEFAULT, {names}, none)")
    model = models.get_model(tv_name, weights=chosen)
    label = "random initialisation" if chosen is None else f"{type(chosen).__name__}.{chosen.name}"
    return model.state_dict(), label


def resample_vit(state, image_size):
    if image_size == 224:
        return state
    if image_size < 128 or image_size % VIT_PATCH:
        fail(
            f"sweep's vit_b16 uses {VIT_PATCH} px patches only for multiples of {VIT_PATCH} "
            f"from 128 px; {image_size} px gets smaller patches, which these weights do not fit"
        )
    from torchvision.models.vision_transformer import interpolate_embeddings

    return interpolate_embeddings(image_size, VIT_PATCH, state)


def to_grey(state, stem):
    state[stem] = state[stem].sum(dim=1, keepdim=True)
    return state


def write_safetensors(tensors, path, metadata):
    """The safetensors layout: u64 header length, JSON header, raw data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for data in blobs:
            f.write(data)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Export torchvision ImageNet weights as safetensors for sweep.",
        epilog="See the module docstring for details.",
    )
    parser.add_argument("arch", choices=sorted(ARCHS), help="sweep architecture name")
    parser.add_argument("output", help="where to write the .safetensors file")
    parser.add_argument("--weights", default="DEFAULT", help="torchvision weights name, or none")
    parser.add_argument("--in-channels", type=int, choices=(1, 3), default=3)
    parser.add_argument("--image-size", type=int, default=224, help="training image side in px")
    args = parser.parse_args(argv)
    if not args.output.endswith(".safetensors"):
        fail("the output file must end in .safetensors")

    tv_name, stem = ARCHS[args.arch]
    is_vit = tv_name.startswith("vit")
    if not is_vit and args.image_size <= SMALL_INPUT_MAX:
        fail(
            f"at {args.image_size} px sweep's {args.arch} uses its 3x3 small-input stem, "
            f"which ImageNet weights do not fit; train at more than {SMALL_INPUT_MAX} px"
        )
    state, label = load_state(tv_name, args.weights)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if is_vit:
        state = resample_vit(state, args.image_size)
    if args.in_channels == 1:
        state = to_grey(state, stem)
    metadata = {
        "source": f"torchvision {tv_name} ({label})",
        "sweep_arch": args.arch,
        "in_channels": str(args.in_channels),
        "image_size": str(args.image_size),
    }
    write_safetensors(state, args.output, metadata)
    count = sum(v.numel() for v in state.values())
    print(f"wrote {len(state)} tensors ({count:,} values) from {metadata['source']} to {args.output}")


if __name__ == "__main__":
    main()
