#!/usr/bin/env bash
# Time per training step and peak memory of every architecture at 28 and 224 px.
# Usage: scripts/model_costs.sh [BATCH]   (SWEEP_DEVICE=cuda for a GPU)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/torch-env.sh
source "$root/scripts/torch-env.sh"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p sweep-train --example model_costs
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/model_costs"
for size in 28 224; do
  for arch in chest_cnn retina_cnn derma_cnn small_cnn vanilla_cnn resnet18 resnet50 resnet152 densenet121 densenet161 densenet201 vit_b16 vit_b16_lora; do
    "$bin" "$arch" "$size" "${1:-8}" || echo "{\"arch\":\"$arch\",\"size\":$size,\"error\":\"failed\"}"
  done
done
