//! Datasets for `sweep`, without libtorch: the MedMNIST catalog, the `.npz`
//! reader, synthetic look-alike datasets, k-fold assignment and content
//! fingerprints. Everything here works on plain byte buffers so that spec
//! validation, hashing and the trainer share one notion of "a dataset".

pub mod catalog;
mod catalog_table;
