//! Experiment files: YAML text → position-carrying tree → validated [`Experiment`].
//!
//! The stages are kept apart so each can be read alone: [`node`] reads YAML
//! with positions, [`schema`] knows every settable field (reading values in a
//! [`Context`] of the names the experiment declares), [`validate`] checks a
//! whole document and builds the [`Experiment`], [`diagnostic`] renders what
//! went wrong.

pub mod context;
pub mod diagnostic;
pub(crate) mod image_folders;
pub mod node;
pub mod schema;
pub mod train_semantics;
pub mod validate;
pub(crate) mod worker;

pub use context::Context;
pub use diagnostic::{Diagnostic, SpecErrors};
pub use validate::{load, load_bytes, load_str};

pub use crate::experiment::Experiment;
