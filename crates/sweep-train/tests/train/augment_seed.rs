//! Seeded reproducibility of `Augment`. Kept in its own test binary with a
//! single test because torch's default generator is process-wide: tests
//! running in parallel in one process would draw from it in between.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

use sweep_train::augment::Augment;
use tch::{Device, Kind, Tensor};

#[test]
fn same_seed_gives_the_same_augmentation() {
    tch::manual_seed(1);
    let images = Tensor::rand([8, 3, 28, 28], (Kind::Float, Device::Cpu));
    let aug = Augment {
        rotation_deg: 20.0,
        shift: 0.1,
        zoom: 0.15,
        hflip: 0.5,
    };
    tch::manual_seed(42);
    let a = aug.apply(&images);
    let a_again = aug.apply(&images);
    tch::manual_seed(42);
    let b = aug.apply(&images);
    tch::manual_seed(43);
    let c = aug.apply(&images);

    assert!(a.equal(&b), "same seed, different batch");
    assert!(!a.equal(&a_again), "the generator did not advance");
    assert!(!a.equal(&c), "different seeds, same batch");
    assert!(!a.equal(&images));
}
