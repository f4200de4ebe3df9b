//! `vit_b16`: the Vision Transformer ViT-Base/16 (Dosovitskiy et al. 2021)
//! of the ChestMNIST architecture study: 12 pre-norm encoder layers of width
//! 768 with 12 attention heads and a 3072-unit GELU MLP, a class token and
//! learned position embeddings. Variable names follow torchvision's
//! `vit_b_16` (`class_token`, `conv_proj`, `encoder.pos_embedding`,
//! `encoder.layers.encoder_layer_N.{ln_1, self_attention.in_proj_weight,
//! self_attention.out_proj, ln_2, mlp.0, mlp.3}`, `encoder.ln`, `heads.head`)
//! so its ImageNet weights load by name.
//!
//! Patch size rule ([`patch_size`]): 16 px from 128 px up, 8 px from 64 px,
//! 4 px below, so a MedMNIST image becomes a 7x7 to 14x14 grid of tokens
//! (28 px → 7x7, 32 → 8x8, 64 → 8x8, 128 → 8x8, 224 → 14x14) instead of a
//! single 16 px patch. The image side must be a multiple of the patch size.
//! At 224 px with 3 channels and 1000 classes this is torchvision's
//! `vit_b_16` exactly (86,567,656 parameters); other sizes change only the
//! patch projection and the number of position embeddings, which loading
//! published 224 px weights resamples (`pretrained::resample`).
//!
//! The same builder, given a [`Lora`] configuration, makes `vit_b16_lora`:
//! low-rank adapters on the query and value projections of every layer, all
//! other weights frozen except the head.
//!
//! `train.init` does not apply here: the weights start from the
//! initialisation of torchvision's `vit_b_16`, the reference this model
//! mirrors, whatever the option says (`models::init`).

use tch::{Tensor, nn};

use super::layers::require_size;
use super::{Model, ModelConfig, ModelError};

/// Token width.
pub const WIDTH: i64 = 768;
/// Encoder layers.
pub const DEPTH: usize = 12;
/// Attention heads per layer.
pub const HEADS: i64 = 12;
/// Hidden units of each encoder MLP.
pub const MLP_WIDTH: i64 = 3072;
/// torchvision's layer-norm epsilon for ViTs.
const LN_EPS: f64 = 1e-6;

/// Side of the square patches for images of `image_size` pixels: 16 from
/// 128 px up, 8 from 64 px, 4 below.
pub fn patch_size(image_size: i64) -> i64 {
    match image_size {
        128.. => 16,
        64..=127 => 8,
        _ => 4,
    }
}

/// Low-rank adaptation (Hu et al. 2021) of the query and value projections:
/// `W x` becomes `W x + (alpha / rank) · B A x` with `A` (`rank × 768`)
/// drawn like a default linear layer and `B` (`768 × rank`) zero, so a fresh
/// adapter leaves the base model's output unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lora {
    pub rank: i64,
    pub alpha: f64,
}

impl Lora {
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }
}

pub fn build(p: &nn::Path, cfg: &ModelConfig) -> Result<Model, ModelError> {
    vit(p, cfg, "vit_b16", None)
}

/// One adapter: `scale · B A x`, named `lora_<target>_a` / `lora_<target>_b`
/// next to the attention weights it adapts.
#[derive(Debug)]
struct Adapter {
    a: Tensor,
    b: Tensor,
    scale: f64,
}

impl Adapter {
    fn new(p: &nn::Path, target: &str, lora: Lora) -> Self {
        let bound = 1.0 / (WIDTH as f64).sqrt();
        let a = p.var(
            &format!("lora_{target}_a"),
            &[lora.rank, WIDTH],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let b = p.var(
            &format!("lora_{target}_b"),
            &[WIDTH, lora.rank],
            nn::Init::Const(0.0),
        );
        Adapter {
            a,
            b,
            scale: lora.scale(),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        xs.matmul(&self.a.tr()).matmul(&self.b.tr()) * self.scale
    }
}

/// Multi-head self-attention with one packed query/key/value projection,
/// laid out like `torch.nn.MultiheadAttention`.
#[derive(Debug)]
struct SelfAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: nn::Linear,
    /// Query and value adapters.
    lora: Option<(Adapter, Adapter)>,
}

impl SelfAttention {
    fn new(p: &nn::Path, lora: Option<Lora>) -> Self {
        // Xavier-uniform over the packed (3·768) × 768 matrix, zero biases.
        let bound = (6.0 / (WIDTH + 3 * WIDTH) as f64).sqrt();
        let in_proj_weight = p.var(
            "in_proj_weight",
            &[3 * WIDTH, WIDTH],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        );
        let in_proj_bias = p.var("in_proj_bias", &[3 * WIDTH], nn::Init::Const(0.0));
        let out_proj = nn::linear(
            p / "out_proj",
            WIDTH,
            WIDTH,
            nn::LinearConfig {
                bs_init: Some(nn::Init::Const(0.0)),
                ..Default::default()
            },
        );
        let lora = lora.map(|l| (Adapter::new(p, "q", l), Adapter::new(p, "v", l)));
        SelfAttention {
            in_proj_weight,
            in_proj_bias,
            out_proj,
            lora,
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let (n, len) = (xs.size()[0], xs.size()[1]);
        let qkv = xs
            .linear(&self.in_proj_weight, Some(&self.in_proj_bias))
            .chunk(3, -1);
        // Out of place: the three chunks are views of one tensor.
        let (q, v) = match &self.lora {
            Some((lora_q, lora_v)) => (&qkv[0] + lora_q.forward(xs), &qkv[2] + lora_v.forward(xs)),
            None => (qkv[0].shallow_clone(), qkv[2].shallow_clone()),
        };
        let split = |t: &Tensor| t.reshape([n, len, HEADS, WIDTH / HEADS]).transpose(1, 2);
        Tensor::scaled_dot_product_attention(
            &split(&q),
            &split(&qkv[1]),
            &split(&v),
            None::<Tensor>,
            0.0,
            false,
            None::<f64>,
            false,
        )
        .transpose(1, 2)
        .reshape([n, len, WIDTH])
        .apply(&self.out_proj)
    }
}

/// Pre-norm encoder layer: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
#[derive(Debug)]
struct EncoderLayer {
    ln_1: nn::LayerNorm,
    self_attention: SelfAttention,
    ln_2: nn::LayerNorm,
    mlp_in: nn::Linear,
    mlp_out: nn::Linear,
}

fn layer_norm(p: nn::Path) -> nn::LayerNorm {
    let cfg = nn::LayerNormConfig {
        eps: LN_EPS,
        ..Default::default()
    };
    nn::layer_norm(p, vec![WIDTH], cfg)
}

/// Xavier-uniform weights and near-zero biases, as torchvision's MLP blocks.
fn mlp_linear(p: nn::Path, c_in: i64, c_out: i64) -> nn::Linear {
    let bound = (6.0 / (c_in + c_out) as f64).sqrt();
    let cfg = nn::LinearConfig {
        ws_init: nn::Init::Uniform {
            lo: -bound,
            up: bound,
        },
        bs_init: Some(nn::Init::Randn {
            mean: 0.0,
            stdev: 1e-6,
        }),
        bias: true,
    };
    nn::linear(p, c_in, c_out, cfg)
}

impl EncoderLayer {
    fn new(p: &nn::Path, lora: Option<Lora>) -> Self {
        EncoderLayer {
            ln_1: layer_norm(p / "ln_1"),
            self_attention: SelfAttention::new(&(p / "self_attention"), lora),
            ln_2: layer_norm(p / "ln_2"),
            // torchvision's MLP block is Linear, GELU, Dropout, Linear,
            // Dropout: the linear layers are its items 0 and 3.
            mlp_in: mlp_linear(p / "mlp" / "0", WIDTH, MLP_WIDTH),
            mlp_out: mlp_linear(p / "mlp" / "3", MLP_WIDTH, WIDTH),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let xs = xs + self.self_attention.forward(&xs.apply(&self.ln_1));
        let ys = xs
            .apply(&self.ln_2)
            .apply(&self.mlp_in)
            .gelu("none")
            .apply(&self.mlp_out);
        xs + ys
    }

    /// Every weight of the layer except the adapters.
    fn base_parameters(&self) -> Vec<&Tensor> {
        let a = &self.self_attention;
        let mut out = vec![&a.in_proj_weight, &a.in_proj_bias];
        out.extend(linear_parameters(&a.out_proj));
        for ln in [&self.ln_1, &self.ln_2] {
            out.extend(layer_norm_parameters(ln));
        }
        for linear in [&self.mlp_in, &self.mlp_out] {
            out.extend(linear_parameters(linear));
        }
        out
    }
}

fn linear_parameters(l: &nn::Linear) -> impl Iterator<Item = &Tensor> {
    std::iter::once(&l.ws).chain(l.bs.as_ref())
}

fn layer_norm_parameters(ln: &nn::LayerNorm) -> impl Iterator<Item = &Tensor> {
    ln.ws.as_ref().into_iter().chain(ln.bs.as_ref())
}

#[derive(Debug)]
struct VisionTransformer {
    conv_proj: nn::Conv2D,
    class_token: Tensor,
    pos_embedding: Tensor,
    layers: Vec<EncoderLayer>,
    ln: nn::LayerNorm,
    head: nn::Linear,
}

impl VisionTransformer {
    /// Every weight outside the adapters and the head.
    fn base_parameters(&self) -> Vec<&Tensor> {
        let mut out = vec![&self.class_token, &self.pos_embedding, &self.conv_proj.ws];
        out.extend(self.conv_proj.bs.as_ref());
        for layer in &self.layers {
            out.extend(layer.base_parameters());
        }
        out.extend(layer_norm_parameters(&self.ln));
        out
    }
}

impl nn::ModuleT for VisionTransformer {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        // (N, C, H, W) → (N, 768, H/p, W/p) → (N, tokens, 768).
        let tokens = xs.apply(&self.conv_proj).flatten(2, -1).transpose(1, 2);
        let n = tokens.size()[0];
        let class_token = self.class_token.expand([n, -1, -1], false);
        let mut xs = Tensor::cat(&[class_token, tokens], 1) + &self.pos_embedding;
        for layer in &self.layers {
            xs = layer.forward(&xs);
        }
        xs.apply(&self.ln).select(1, 0).apply(&self.head)
    }
}

/// Builds ViT-Base with `patch_size(cfg.image_size)` patches, with adapters
/// and frozen base weights when `lora` is given.
pub(super) fn vit(
    p: &nn::Path,
    cfg: &ModelConfig,
    arch: &'static str,
    lora: Option<Lora>,
) -> Result<Model, ModelError> {
    let patch = patch_size(cfg.image_size);
    require_size(arch, cfg, patch)?;
    if cfg.image_size % patch != 0 {
        return Err(ModelError::InvalidConfig {
            arch,
            reason: format!(
                "image_size {} is not a multiple of the {patch} px patch size",
                cfg.image_size
            ),
        });
    }
    let grid = cfg.image_size / patch;
    let fan_in = (cfg.in_channels * patch * patch) as f64;
    let conv_proj = nn::conv2d(
        p / "conv_proj",
        cfg.in_channels,
        WIDTH,
        patch,
        nn::ConvConfig {
            stride: patch,
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: (1.0 / fan_in).sqrt(),
            },
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        },
    );
    let class_token = p.var("class_token", &[1, 1, WIDTH], nn::Init::Const(0.0));
    let encoder = p / "encoder";
    let pos_embedding = encoder.var(
        "pos_embedding",
        &[1, grid * grid + 1, WIDTH],
        nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
    );
    let layers = (0..DEPTH)
        .map(|i| EncoderLayer::new(&(&encoder / "layers" / format!("encoder_layer_{i}")), lora))
        .collect();
    let ln = layer_norm(&encoder / "ln");
    // torchvision starts the classification head at zero.
    let head = nn::linear(
        p / "heads" / "head",
        WIDTH,
        cfg.num_outputs,
        nn::LinearConfig {
            ws_init: nn::Init::Const(0.0),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    );
    let model = VisionTransformer {
        conv_proj,
        class_token,
        pos_embedding,
        layers,
        ln,
        head,
    };
    if lora.is_some() {
        for t in model.base_parameters() {
            let _ = t.set_requires_grad(false);
        }
    }
    Ok(Box::new(model))
}
