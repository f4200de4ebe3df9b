//! `cargo bench -p sweep-core --bench plan`: plans a 10,000-run grid and
//! prints the time against the target (< 0.2 s). A benchmark, not a test:
//! timing on a shared machine is noisy, so nothing here can fail CI.

use std::path::Path;
use std::time::Instant;

use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::plan::plan;
use sweep_core::store::Store;
use sweep_data::catalog::DatasetRef;

struct Fixed;

impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

const GRID: &str = "
name: big
grid:
  dataset: [breastmnist, pneumoniamnist, retinamnist, dermamnist, bloodmnist]
  arch: [chest_cnn, small_cnn, resnet18, derma_cnn]
  lr: [1e-2, 3e-3, 1e-3, 3e-4, 1e-4]
  batch_size: [32, 64, 128, 256, 512]
  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
";

fn main() {
    let tmp = std::env::temp_dir().join(format!("sweep-plan-bench-{}", std::process::id()));
    let store = Store::new(&tmp);
    let started = Instant::now();
    let exp = sweep_core::spec::load_str(GRID, Path::new("big.yaml")).expect("valid");
    let parsed = started.elapsed();
    let p = plan(&exp, Default::default(), Path::new("."), &store, &Fixed);
    let total = started.elapsed();
    assert_eq!(p.runs.len(), 10_000);
    let target = 0.2;
    println!(
        "plan 10,000 runs: {:.3}s (validate+dry-expand {:.3}s); target < {target}s; ratio {:.2}",
        total.as_secs_f64(),
        parsed.as_secs_f64(),
        total.as_secs_f64() / target
    );
    let _ = std::fs::remove_dir_all(tmp);
}
