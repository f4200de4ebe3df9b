//! One file per command.

pub(crate) mod cancel;
pub(crate) mod data;
pub(crate) mod explain;
pub(crate) mod export;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod validate;
pub(crate) mod weights;
pub(crate) mod worker;
