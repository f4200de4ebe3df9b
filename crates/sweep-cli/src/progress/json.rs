//! `--json`: one object per line on stdout for other tools.

use serde_json::json;
use sweep_core::protocol::events::SlurmEvent;
use sweep_core::scheduler::{Progress, Reporter};
use sweep_core::slurm::SlurmReporter;

pub(crate) struct Json;

impl Reporter for Json {
    fn report(&mut self, p: &Progress) {
        let v = match p {
            Progress::Started {
                slot,
                device,
                key,
                label,
                attempt,
            } => {
                json!({"event": "run_started", "slot": slot, "device": device, "key": key, "label": label, "attempt": attempt})
            }
            Progress::Worker { slot, key, event } => {
                let mut v = serde_json::to_value(event).unwrap_or_default();
                v["slot"] = json!(slot);
                v["key"] = json!(key);
                v
            }
            Progress::Waiting { key, label, holder } => {
                json!({"event": "waiting", "key": key, "label": label, "holder_pid": holder})
            }
            Progress::CachedByOther { key, label } => {
                json!({"event": "cached_by_other", "key": key, "label": label})
            }
            Progress::Finished {
                slot,
                key,
                label,
                result,
                seconds,
                will_retry,
            } => match result {
                Ok(()) => {
                    json!({"event": "run_done", "slot": slot, "key": key, "label": label, "seconds": seconds})
                }
                Err((kind, message)) => {
                    json!({"event": "run_failed", "slot": slot, "key": key, "label": label,
                    "seconds": seconds, "reason": kind, "message": message, "will_retry": will_retry})
                }
            },
            Progress::Interrupted { killing } => {
                json!({"event": "interrupted", "killing": killing})
            }
            Progress::Measured {
                key,
                label,
                gpu,
                mib,
            } => {
                json!({"event": "gpu_footprint_measured", "key": key, "label": label, "gpu": gpu, "mib": mib})
            }
        };
        println!("{v}");
    }
}

impl SlurmReporter for Json {
    fn slurm(&mut self, event: &SlurmEvent) {
        println!("{}", serde_json::to_value(event).unwrap_or_default());
    }
}
