//! Position-embedding resampling (`pretrained::resample`) against torch:
//! the grid of 224 px ViT-B/16 embeddings resized for the zoo's 32 px ViT
//! must equal what torchvision's `interpolate_embeddings` computes, that is
//! `F.interpolate(mode="bicubic", align_corners=True)` of the same grid with
//! the class token kept. Without a python that imports torch the comparison
//! is recorded as skipped, with why.

use std::path::PathBuf;

use sweep_train::pretrained::resample::resample_position_embedding;
use tch::{Device, Kind, Tensor};

use crate::weights_convert::torch_python;

/// What torchvision does when fine-tuning a ViT at another resolution
/// (`torchvision.models.vision_transformer.interpolate_embeddings`), on raw
/// little-endian float32 files: `pos` `[1, 1 + g², width]` → `out`.
const TORCH_RESIZE: &str = r#"
import sys, math, numpy as np, torch
import torch.nn.functional as F
src, dst, width, side = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pos = torch.from_numpy(np.fromfile(src, dtype="<f4")).reshape(1, -1, width)
cls, grid = pos[:, :1], pos[:, 1:]
g = math.isqrt(grid.shape[1])
grid = grid.permute(0, 2, 1).reshape(1, width, g, g)
grid = F.interpolate(grid, size=side, mode="bicubic", align_corners=True)
grid = grid.reshape(1, width, side * side).permute(0, 2, 1)
torch.cat([cls, grid], dim=1).contiguous().numpy().astype("<f4").tofile(dst)
"#;

fn to_le_bytes(t: &Tensor) -> Vec<u8> {
    let values = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_le_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn position_embeddings_resized_for_32px_match_torch_interpolate() {
    let Some(python) = torch_python() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sweep-vit-resample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, dst): (PathBuf, PathBuf) = (dir.join("pos.f32"), dir.join("resized.f32"));

    // ViT-B/16 at 224 px: 14x14 patches + the class token; the zoo's ViT at
    // 32 px has 4 px patches, an 8x8 grid.
    tch::manual_seed(11);
    let published = Tensor::randn([1, 197, 768], (Kind::Float, Device::Cpu)) * 0.02;
    let ours = resample_position_embedding(&published, &[1, 65, 768]).unwrap();
    assert_eq!(ours.size(), [1, 65, 768]);

    std::fs::write(&src, to_le_bytes(&published)).unwrap();
    let out = std::process::Command::new(&python)
        .args(["-c", TORCH_RESIZE])
        .arg(&src)
        .arg(&dst)
        .args(["768", "8"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let torch = from_le_bytes(&std::fs::read(&dst).unwrap());
    let _ = std::fs::remove_dir_all(&dir);

    let ours = Vec::<f32>::try_from(ours.flatten(0, -1)).unwrap();
    assert_eq!(ours.len(), torch.len());
    let worst = ours
        .iter()
        .zip(&torch)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "largest difference from torch: {worst}");
}
