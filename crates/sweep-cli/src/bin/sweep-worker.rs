//! The `sweep-worker` binary: trains one prepared run folder.
//!
//! `sweep run` spawns one per run (`sweep-worker <run folder>`); it is the
//! only executable that links libtorch. Keeping it apart from `sweep` means
//! every other command (plan, status, report, a fully cached run) starts in
//! milliseconds instead of paying libtorch's start-up (about 0.4 s of
//! static initialisers) on every invocation.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
Usage: sweep-worker <RUN_DIR>

Trains the run described by RUN_DIR/spec.json and writes its results, the
completion marker last. A run whose spec names a training command of the
experiment's own (`worker:`) is trained by that command instead
(docs/protocol.md). Started by `sweep run` (and by Slurm job scripts
through `sweep worker`); not meant to be run by hand. Its stdout is a stream
of JSON events (a failure's reason among them), its log goes to
RUN_DIR/worker.log. Exit codes: 0 done, 1 failed, 2 usage error; the
scheduler reads two more: another process holds the run, and stopped on
request after an epoch (it resumes from there).

`sweep-worker convert-weights --arch ARCH --layout LAYOUT SRC DEST` converts
a state dict for `sweep weights` (which does not link libtorch).

`sweep-worker device-report` prints, as JSON, what a run started with the
same environment could compute on: the libtorch in use and its version,
whether its CUDA half was loaded (not with SWEEP_DEVICE=cpu), and the GPUs
it sees. `SWEEP_DEVICE=cuda:0 sweep-worker device-report` checks a GPU
machine before a sweep.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        [flag] if flag == "-V" || flag == "--version" => {
            println!("sweep-worker {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        [command] if command == "device-report" => {
            let report = sweep_train::torch_runtime::device_report();
            match serde_json::to_string_pretty(&report) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sweep-worker: device report: {e}");
                    ExitCode::from(1)
                }
            }
        }
        [command, rest @ ..] if command == "convert-weights" => {
            let code = sweep_train::weights_convert::command(rest);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        [dir] => {
            let dir = PathBuf::from(dir);
            // A run of the experiment's own training command (`worker:`)
            // is handed to its adapter; every other run to the trainer.
            let code =
                sweep_external::main(&dir).unwrap_or_else(|| sweep_train::worker::main(&dir));
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
