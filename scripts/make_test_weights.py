"""Test weights for `sweep weights`: state dicts saved by real torch from
torchvision-shaped modules with random values, and the logits torch gives
for a fixed input, so the Rust tests can check that a pulled and converted
file makes the zoo compute the same function. Nothing here is downloaded;
torchvision is not needed (the modules are written out in plain torch with
torchvision's names and layout).

    python scripts/make_test_weights.py KIND OUT_DIR

KIND:
  resnet18           torchvision resnet18 (7x7 stem, 10 classes): weights.pth
  resnet18_renamed   the same with `layer2.0.bn1.weight` saved as `layer2.0.bn_1.weight`
  resnet18_reshaped  the same with `layer3.1.conv2.weight` saved as 256x256x1x1
  resnet18_legacy    the same in PyTorch's legacy (before 1.6) serialization
  vit_hf             torchvision vit_b_16 (10 classes), saved in the Hugging Face
                     ViTForImageClassification layout: weights.bin

OUT_DIR also gets expected.json: {"input_shape", "input", "logits"} with the
input flattened (N, C, H, W order) and the logits of the module in eval mode.
"""

import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from models import ResNet18  # noqa: E402  (torchvision's resnet18 names)

CLASSES = 10


class EncoderLayer(nn.Module):
    """torchvision's EncoderBlock: ln_1, self_attention, ln_2, mlp (0, 3)."""

    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(768, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(768, 12, batch_first=True)
        self.ln_2 = nn.LayerNorm(768, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(768, 3072), nn.GELU(), nn.Dropout(0.0), nn.Linear(3072, 768)
        )

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, tokens):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.randn(1, tokens, 768) * 0.02)
        self.layers = nn.Sequential()
        for i in range(12):
            self.layers.add_module(f"encoder_layer_{i}", EncoderLayer())
        self.ln = nn.LayerNorm(768, eps=1e-6)

    def forward(self, x):
        return self.ln(self.layers(x + self.pos_embedding))


class Heads(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.head = nn.Linear(768, k)


class VitB16(nn.Module):
    """torchvision's vit_b_16 at 224 px with its parameter names."""

    def __init__(self, k):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 768, 16, 16)
        self.class_token = nn.Parameter(torch.randn(1, 1, 768) * 0.02)
        self.encoder = Encoder(14 * 14 + 1)
        self.heads = Heads(k)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.heads.head(self.encoder(x)[:, 0])


def hf_layout(state):
    """torchvision vit_b_16 names -> Hugging Face ViTForImageClassification."""
    out = {
        "vit.embeddings.cls_token": state["class_token"],
        "vit.embeddings.position_embeddings": state["encoder.pos_embedding"],
        "vit.embeddings.patch_embeddings.projection.weight": state["conv_proj.weight"],
        "vit.embeddings.patch_embeddings.projection.bias": state["conv_proj.bias"],
        "vit.layernorm.weight": state["encoder.ln.weight"],
        "vit.layernorm.bias": state["encoder.ln.bias"],
        "classifier.weight": state["heads.head.weight"],
        "classifier.bias": state["heads.head.bias"],
        # A pre-logits layer torchvision's ViT-B/16 does not have.
        "vit.pooler.dense.weight": torch.randn(768, 768),
        "vit.pooler.dense.bias": torch.randn(768),
    }
    for i in range(12):
        tv = f"encoder.layers.encoder_layer_{i}."
        hf = f"vit.encoder.layer.{i}."
        for param in ("weight", "bias"):
            q, k, v = state[tv + f"self_attention.in_proj_{param}"].chunk(3, dim=0)
            for name, part in (("query", q), ("key", k), ("value", v)):
                out[hf + f"attention.attention.{name}.{param}"] = part.clone()
            for tv_name, hf_name in (
                ("ln_1", "layernorm_before"),
                ("ln_2", "layernorm_after"),
                ("self_attention.out_proj", "attention.output.dense"),
                ("mlp.0", "intermediate.dense"),
                ("mlp.3", "output.dense"),
            ):
                out[hf + f"{hf_name}.{param}"] = state[tv + f"{tv_name}.{param}"]
    return out


def randomise(model):
    """Random values everywhere, batch-norm statistics included, so eval mode
    exercises every tensor the file carries."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype != torch.float32:
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            elif name.endswith("running_mean") or name.endswith("bias"):
                t.copy_(torch.randn_like(t) * 0.1)
            elif t.dim() >= 2:
                fan_in = t[0].numel()
                t.copy_(torch.randn_like(t) / fan_in**0.5)
            else:
                t.copy_(torch.rand_like(t) + 0.5)


def main():
    kind, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    if kind.startswith("resnet18"):
        model, size, file = ResNet18(3, CLASSES, 72), 72, "weights.pth"
    elif kind == "vit_hf":
        model, size, file = VitB16(CLASSES), 224, "weights.bin"
    else:
        sys.exit(f"unknown kind {kind!r}")
    randomise(model)
    model.eval()
    x = torch.rand(2 if size < 224 else 1, 3, size, size)
    with torch.no_grad():
        logits = model(x)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    if kind == "resnet18_renamed":
        state["layer2.0.bn_1.weight"] = state.pop("layer2.0.bn1.weight")
    elif kind == "resnet18_reshaped":
        state["layer3.1.conv2.weight"] = torch.randn(256, 256, 1, 1)
    elif kind == "vit_hf":
        state = hf_layout(state)
    torch.save(state, out / file, _use_new_zipfile_serialization=kind != "resnet18_legacy")
    (out / "expected.json").write_text(
        json.dumps(
            {
                "input_shape": list(x.shape),
                "input": x.flatten().tolist(),
                "logits": logits.flatten().tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
