//! `vit_b16_lora` trains what LoRA fine-tuning should and nothing else: the
//! ViT-B/16 weights are frozen, only the rank-8 query/value adapters and the
//! head receive updates from `sweep_train::optim::Optimizer`, and the adapters
//! add exactly `(alpha / rank) · B A` to the query and value projections.
//!
//! Everything runs at 28 or 32 px (4 px patches) to stay fast.

use std::collections::{BTreeSet, HashMap};

use sweep_core::train_options::Optimizer as OptimizerSpec;
use sweep_train::models::{self, vit_b16_lora};
use sweep_train::optim::Optimizer;
use tch::{Device, Kind, Reduction, Tensor, nn};

use crate::support::{built, cfg};

const LAYERS: usize = 12;

fn adapter(layer: usize, target: &str, matrix: &str) -> String {
    format!("encoder.layers.encoder_layer_{layer}.self_attention.lora_{target}_{matrix}")
}

fn adapter_names(matrix: &str) -> BTreeSet<String> {
    (0..LAYERS)
        .flat_map(|i| ["q", "v"].map(|t| adapter(i, t, matrix)))
        .collect()
}

fn snapshot(vs: &nn::VarStore) -> HashMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().copy()))
        .collect()
}

/// Names whose values differ from `before`.
fn changed(vs: &nn::VarStore, before: &HashMap<String, Tensor>) -> BTreeSet<String> {
    vs.variables()
        .into_iter()
        .filter(|(name, t)| !t.equal(&before[name]))
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn only_adapters_and_head_require_gradients() {
    let c = cfg(1, 3, 28);
    let (vs, _model) = built("vit_b16_lora", &c);
    let vars = vs.variables();
    let trainable: BTreeSet<String> = vars
        .iter()
        .filter(|(_, t)| t.requires_grad())
        .map(|(name, _)| name.clone())
        .collect();
    let mut expected: BTreeSet<String> = adapter_names("a");
    expected.extend(adapter_names("b"));
    expected.extend(["heads.head.weight".into(), "heads.head.bias".into()]);
    assert_eq!(trainable, expected);
    assert_eq!(vars[&adapter(0, "q", "a")].size(), [8, 768]);
    assert_eq!(vars[&adapter(11, "v", "b")].size(), [768, 8]);
    assert_eq!(vit_b16_lora::LORA.scale(), 2.0);

    // Everything else is vit_b16, same names and shapes.
    let (base, _model) = built("vit_b16", &c);
    let frozen: HashMap<String, Vec<i64>> = vars
        .iter()
        .filter(|(name, _)| !name.contains(".lora_"))
        .map(|(name, t)| (name.clone(), t.size()))
        .collect();
    let plain: HashMap<String, Vec<i64>> = base
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.size()))
        .collect();
    assert_eq!(frozen, plain);

    let head = 768 * 3 + 3;
    let adapters = 48 * 8 * 768;
    let (total, trainable) = models::param_count(&vs);
    assert_eq!(trainable, (adapters + head) as u64);
    assert_eq!(total, models::param_count(&base).0 + adapters as u64);
}

#[test]
fn optimizer_steps_move_adapters_and_head_but_never_the_frozen_base() {
    tch::manual_seed(0);
    let (vs, model) = built("vit_b16_lora", &cfg(1, 3, 28));
    let start = snapshot(&vs);
    let mut opt = Optimizer::new(&OptimizerSpec::default(), &vs, 1e-3);
    let xs = Tensor::randn([4, 1, 28, 28], (Kind::Float, Device::Cpu));
    // Fixed labels with positives and negatives unbalanced in every column,
    // so the head's bias gets a gradient in the first step whatever the
    // other tests of this binary draw from torch's shared generator
    // (balanced random columns would leave it exactly zero).
    let ys = Tensor::from_slice(&[
        1.0f32, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0,
    ])
    .view([4, 3]);
    let mut step = || {
        let logits = model.forward_t(&xs, true);
        let loss =
            logits.binary_cross_entropy_with_logits::<Tensor>(&ys, None, None, Reduction::Mean);
        opt.backward_step(&loss);
    };
    let head: BTreeSet<String> = ["heads.head.bias".into(), "heads.head.weight".into()].into();
    let (a, b) = (adapter_names("a"), adapter_names("b"));

    // The head starts at zero (as torchvision's) and B at zero (as LoRA's),
    // so no gradient reaches below the head in the first step and none
    // reaches A in the second: updates spread down one level per step.
    step();
    assert_eq!(changed(&vs, &start), head);
    step();
    let two: BTreeSet<String> = head.union(&b).cloned().collect();
    assert_eq!(changed(&vs, &start), two);
    step();
    let three: BTreeSet<String> = two.union(&a).cloned().collect();
    assert_eq!(changed(&vs, &start), three);

    // Frozen weights get no gradient at all and no optimiser state.
    for (name, t) in vs.variables() {
        if !three.contains(&name) {
            assert!(!t.requires_grad(), "{name}");
            assert!(!t.grad().defined(), "{name} has a gradient");
        }
    }
    let state: BTreeSet<String> = opt
        .state()
        .into_iter()
        .filter_map(|(name, _)| {
            let var = name.strip_prefix("opt.first.");
            var.or(name.strip_prefix("opt.second.")).map(str::to_owned)
        })
        .collect();
    assert_eq!(state, three);
}

#[test]
fn adapters_add_scaled_low_rank_updates_to_query_and_value() {
    tch::manual_seed(1);
    let c = cfg(3, 4, 32);
    let (base_vs, base) = built("vit_b16", &c);
    let (lora_vs, lora) = built("vit_b16_lora", &c);
    let base_vars = base_vs.variables();
    let lora_vars = lora_vs.variables();
    tch::no_grad(|| {
        // A non-zero head, so the logits depend on every layer.
        base_vars["heads.head.weight"]
            .shallow_clone()
            .copy_(&(Tensor::randn([4, 768], (Kind::Float, Device::Cpu)) * 0.1));
        for (name, t) in &base_vars {
            lora_vars[name].shallow_clone().copy_(t);
        }
    });
    let xs = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    let logits = |m: &models::Model| tch::no_grad(|| m.forward_t(&xs, false));

    // Fresh adapters (B = 0) leave the function unchanged.
    let unadapted = logits(&lora);
    assert!(logits(&base).allclose(&unadapted, 1e-5, 1e-6, false));

    // With B drawn at random, the adapted model equals the plain one with
    // W_q += 2 B_q A_q and W_v += 2 B_v A_v merged into in_proj_weight.
    let scale = vit_b16_lora::LORA.scale();
    tch::no_grad(|| {
        for i in 0..LAYERS {
            let w = base_vars
                [&format!("encoder.layers.encoder_layer_{i}.self_attention.in_proj_weight")]
                .shallow_clone();
            for (target, offset) in [("q", 0), ("v", 2 * 768)] {
                let mut b = lora_vars[&adapter(i, target, "b")].shallow_clone();
                b.copy_(&(Tensor::randn([768, 8], (Kind::Float, Device::Cpu)) * 0.05));
                let a = &lora_vars[&adapter(i, target, "a")];
                let delta = b.matmul(a) * scale;
                let _ = w.narrow(0, offset, 768).g_add_(&delta);
            }
        }
    });
    let (merged, adapted) = (logits(&base), logits(&lora));
    assert!(
        !adapted.allclose(&unadapted, 1e-2, 1e-2, false),
        "random adapters should change the function"
    );
    let diff = (&merged - &adapted).abs().max().double_value(&[]);
    assert!(
        merged.allclose(&adapted, 1e-4, 1e-5, false),
        "max difference {diff}"
    );
}
