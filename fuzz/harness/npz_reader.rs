//! One input of the `npz_reader` fuzz target. Also compiled (via `#[path]`)
//! into `crates/sweep-data/tests/fuzz_corpus.rs`, so the stable test suite
//! replays the corpus through exactly the code the fuzzer ran.

use std::io::Cursor;

use sweep_data::catalog::DatasetRef;
use sweep_data::{NpzFile, load_medmnist_from};

/// Per-array limit: keeps memory bounded while still letting small valid
/// arrays through.
const MAX_ARRAY_BYTES: u64 = 16 << 20;

/// One grayscale, one RGB and one multi-label layout, all at 28 px.
const DATASETS: [&str; 3] = ["breastmnist", "retinamnist", "chestmnist"];

/// Reads every array of `data` as an `.npz`, then loads it as each dataset.
pub(super) fn run(data: &[u8]) {
    let Ok(npz) = NpzFile::from_reader(Cursor::new(data), "fuzz.npz") else {
        return;
    };
    let mut npz = npz.with_max_array_bytes(MAX_ARRAY_BYTES);
    let _ = format!("{npz:?}");
    for key in npz.keys() {
        assert!(npz.contains(&key), "listed key `{key}` not found");
        match npz.read(&key) {
            Ok(array) => {
                assert_eq!(
                    array.data.len(),
                    array.num_elements() * array.dtype.item_size()
                );
                let _ = (array.shape_string(), array.to_f64_vec(), array.as_u8());
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let _ = npz.read("no such key").map_err(|e| e.to_string());
    for name in DATASETS {
        let dataset = DatasetRef::parse(name).expect("catalog dataset");
        if let Ok(arrays) = load_medmnist_from(&mut npz, &dataset) {
            for split in [&arrays.train, &arrays.val, &arrays.test] {
                let _ = (split.image(split.n - 1), split.label(split.n - 1));
                let _ = split.class_counts(dataset.info.num_classes());
            }
        }
    }
}
