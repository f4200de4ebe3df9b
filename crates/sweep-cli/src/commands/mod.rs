//! One file per command.

pub mod cancel;
pub mod data;
pub mod plan;
pub mod report;
pub mod run;
pub mod status;
pub mod validate;
pub mod worker;
