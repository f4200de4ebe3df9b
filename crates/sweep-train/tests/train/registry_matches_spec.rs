//! The spec validator (libtorch-free) keeps its own list of architecture
//! names; it must be exactly the trainer's registry.

#[test]
fn spec_arch_list_equals_model_registry() {
    let mut trainer: Vec<&str> = sweep_train::models::names().to_vec();
    let mut spec: Vec<&str> = sweep_core::spec::schema::KNOWN_ARCHS.to_vec();
    trainer.sort_unstable();
    spec.sort_unstable();
    assert_eq!(trainer, spec);
}
