//! Experiment files: YAML text → position-carrying tree → validated [`Experiment`].
//!
//! The stages are kept apart so each can be read alone: [`node`] reads YAML
//! with positions, [`schema`] knows every settable field (reading values in a
//! [`Context`] of the names the experiment declares), [`sampled`] draws the
//! values of axes written as samplers, [`validate`] checks a
//! whole document and builds the [`Experiment`], [`diagnostic`] renders what
//! went wrong. [`overrides`] applies `--set PATH=VALUE` arguments between
//! reading and checking. [`json_schema`] describes the same fields as a
//! JSON Schema for editors.

pub mod context;
pub mod diagnostic;
pub mod field_schemas;
pub(crate) mod image_folders;
pub mod json_schema;
pub mod node;
pub mod overrides;
pub mod sampled;
pub mod schema;
pub mod torchscript;
pub mod train_semantics;
pub mod validate;
pub(crate) mod worker;

pub use context::Context;
pub use diagnostic::{Diagnostic, SpecErrors};
pub use node::Pos;
pub use overrides::{LoadError, load_with_overrides};
pub use validate::{load, load_bytes, load_str};

pub use crate::experiment::Experiment;
