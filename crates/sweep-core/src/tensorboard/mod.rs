//! Live training curves for TensorBoard: every run writes its per-epoch
//! numbers as TensorBoard event files under `results/<key>/tb/<label>/` as
//! it trains ([`event_log`]), named so that `tensorboard --logdir results`
//! lists runs by what they are ([`run_name`]). Free of libtorch, so any
//! worker that writes a `history.csv` can write the same curves.

mod event;
pub mod event_log;
mod record;
pub mod run_name;

pub use event_log::{EventLog, tag_of};
pub use run_name::{TB_DIR, event_dir, folder_name};
