//! Writes every kind of figure, from made-up numbers, into a folder so the
//! look can be checked by eye: `cargo run -p sweep-plots --example gallery -- DIR [svg|png]`.

use std::path::PathBuf;

use sweep_plots::{
    Bar, Curve, LabelMatrix, RocCurve, Split, bar_chart, confusion_grid, confusion_matrix,
    learning_curves, roc_curves,
};

const CHEST_LABELS: [&str; 14] = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
];

/// A small deterministic pseudo-random sequence in [0, 1).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "gallery".into()));
    let ext = args.next().unwrap_or_else(|| "svg".into());
    std::fs::create_dir_all(&dir)?;
    let mut rng = Jitter(7);

    let configs = ["resnet18 lr=1e-3", "resnet18 lr=1e-4", "small-cnn"];
    let mut loss = Vec::new();
    let mut auc = Vec::new();
    for (c, name) in configs.iter().enumerate() {
        for split in [Split::Train, Split::Val] {
            let gap = if split == Split::Val { 0.15 } else { 0.0 };
            let folds: Vec<Vec<f64>> = (0..5)
                .map(|_| {
                    (1..=20 - c * 3)
                        .map(|e| {
                            let e = e as f64;
                            0.3 + gap + 0.9 / e.sqrt() * (1.0 + 0.2 * c as f64) + 0.05 * rng.next()
                        })
                        .collect()
                })
                .collect();
            let folds_auc: Vec<Vec<f64>> = folds
                .iter()
                .map(|f| f.iter().map(|l| (1.2 - l * 0.5).min(0.99)).collect())
                .collect();
            loss.push(Curve {
                config: name.to_string(),
                split,
                folds,
            });
            auc.push(Curve {
                config: name.to_string(),
                split,
                folds: folds_auc,
            });
        }
    }
    learning_curves(&loss, "Loss", &dir.join(format!("loss.{ext}")))?;
    learning_curves(&auc, "AUC", &dir.join(format!("auc.{ext}")))?;

    let matrices: Vec<LabelMatrix> = CHEST_LABELS
        .iter()
        .map(|l| {
            let tp = (rng.next() * 400.0) as u64;
            LabelMatrix::new(*l, 4000 + tp * 3, 300 - tp / 2, 500 - tp, tp)
        })
        .collect();
    confusion_grid(&matrices, 5, &dir.join(format!("chest_confusion.{ext}")))?;

    let names = [
        "adipose",
        "background",
        "debris",
        "lymphocytes",
        "mucus",
        "smooth muscle",
        "normal mucosa",
        "stroma",
        "tumor epithelium",
    ];
    let counts: Vec<Vec<u64>> = (0..9)
        .map(|r| {
            (0..9)
                .map(|c| {
                    if r == c {
                        800 + (rng.next() * 400.0) as u64
                    } else {
                        (rng.next() * 60.0) as u64
                    }
                })
                .collect()
        })
        .collect();
    confusion_matrix(&counts, &names, &dir.join(format!("path_confusion.{ext}")))?;

    let rocs: Vec<RocCurve> = configs
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let y: Vec<u8> = (0..400).map(|i| u8::from(i % 3 == 0)).collect();
            let s: Vec<f64> = y
                .iter()
                .map(|&t| f64::from(t) * (0.9 - 0.2 * c as f64) + rng.next())
                .collect();
            RocCurve::from_scores(*name, &y, &s)
        })
        .collect();
    roc_curves(&rocs, &dir.join(format!("roc.{ext}")))?;

    let per_label: Vec<RocCurve> = CHEST_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let y: Vec<u8> = (0..300).map(|k| u8::from(k % 4 == 0)).collect();
            let s: Vec<f64> = y
                .iter()
                .map(|&t| f64::from(t) * (0.2 + 0.05 * i as f64) + rng.next())
                .collect();
            RocCurve::from_scores(*label, &y, &s)
        })
        .collect();
    roc_curves(&per_label, &dir.join(format!("roc_labels.{ext}")))?;

    let bars: Vec<Bar> = configs
        .iter()
        .enumerate()
        .map(|(c, name)| Bar {
            label: name.to_string(),
            mean: 0.9 - 0.05 * c as f64,
            std: Some(0.01 + 0.01 * c as f64),
        })
        .collect();
    bar_chart(&bars, "Test AUC", &dir.join(format!("bars.{ext}")))?;

    let many: Vec<Bar> = (0..8)
        .map(|i| Bar {
            label: format!(
                "resnet18 lr=1e-{} aug={}",
                2 + i / 2,
                ["none", "flip"][i % 2]
            ),
            mean: 0.7 + 0.03 * i as f64,
            std: Some(0.015),
        })
        .collect();
    bar_chart(
        &many,
        "Validation accuracy",
        &dir.join(format!("bars_many.{ext}")),
    )?;
    println!("figures written to {}", dir.display());
    Ok(())
}
